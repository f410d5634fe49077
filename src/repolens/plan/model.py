"""What a parsed plan is: tasks with a status, grouped by phase."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel


class TaskStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


Health = Literal["green", "yellow", "red", "unknown"]
Source = Literal["checkbox", "table", "emoji"]


class PlanTask(BaseModel):
    id: str
    title: str
    status: TaskStatus
    file: str
    line: int
    section: list[str]
    phase: str | None = None
    priority: str | None = None
    depth: int = 0
    parent: str | None = None
    source: Source = "checkbox"


class Counts(BaseModel):
    total: int = 0
    todo: int = 0
    in_progress: int = 0
    done: int = 0
    blocked: int = 0

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0


class Phase(BaseModel):
    name: str
    line: int
    declared_status: TaskStatus | None = None
    counts: Counts
    percent: float


class PlanProgress(BaseModel):
    """The plan artifact of a scan."""

    files: list[str]
    tasks: list[PlanTask]
    counts: Counts
    percent: float
    health: Health
    phases: list[Phase]
    warnings: list[str] = []
