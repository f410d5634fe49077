"""The report document every renderer reads. Its JSON form is versioned:
fields may be added within a schema version, never removed or renamed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from repolens.analyzers.base import Finding, Severity
from repolens.plan.model import PlanProgress
from repolens.scoring import Score
from repolens.skills.model import SkillSet


class Target(BaseModel):
    label: str
    ref: str | None = None
    commit: str | None = None
    since: str | None = None


class StepReport(BaseModel):
    analyzer: str
    version: str
    status: Literal["completed", "failed", "skipped"]
    error: str | None = None
    findings: int
    files_analyzed: int
    files_cached: int
    seconds: float
    warnings: list[str] = []


class InventoryReport(BaseModel):
    files: int
    lines: int
    languages: dict[str, int]
    skipped: dict[str, int]


class Coverage(BaseModel):
    """What the scan looked at. A partial scan (only files changed since a ref,
    or an analyzer that failed) says why, and its score is over the lines it
    looked at only."""

    partial: bool = False
    reasons: list[str] = []
    files: int  # files the analyzers were given
    lines: int  # the lines the score is measured against


class BaselineUse(BaseModel):
    """The repository's baseline, as this scan judged against it."""

    commit: str | None = None  # the commit it was taken at
    new: int  # findings not in it: what the gate judges
    existing: int


class TrendPoint(BaseModel):
    """The score of one earlier scan of the same project (the service knows them)."""

    run_id: int
    finished_at: datetime | None = None
    score: int
    grade: str


class Report(BaseModel):
    schema_version: Literal[1] = 1
    tool: str = "repolens"
    tool_version: str
    target: Target
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    inventory: InventoryReport
    steps: list[StepReport]
    findings: list[Finding]
    score: Score
    plan: PlanProgress | None = None
    skills: SkillSet | None = None
    warnings: list[str] = []
    coverage: Coverage | None = None
    merged: int = 0  # findings of one engine folded into another's about the same problem
    by_role: dict[str, int] = {}  # findings per role of their file; the score counts "source"
    baseline: BaselineUse | None = None
    suppressed: dict[str, int] = {}  # inline suppression markers in the analysed files, by kind
    renamed: dict[str, str] = {}  # old path: new path, since the commit compared to
    trend: list[TrendPoint] = []  # the project's recent scores, oldest first, this one last

    def gated(self, threshold: Severity) -> list[Finding]:
        """The findings the gate judges at THRESHOLD: with a baseline, new ones only."""
        return [f for f in self.at_or_above(threshold) if f.state != "existing"]

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= threshold.rank]
