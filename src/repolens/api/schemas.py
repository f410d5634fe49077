"""What the API reads and writes. Separate from the tables on purpose: a column
can change without changing the contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Item = TypeVar("Item")


def _cron(value: str | None) -> str | None:
    from repolens.jobs.schedule import is_valid

    if value is not None and not is_valid(value):
        raise ValueError("not a cron expression (five fields, e.g. '0 3 * * *')")
    return value


Cron = Annotated[str | None, AfterValidator(_cron)]


def _http_url(value: str | None) -> str | None:
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
    return value


HttpUrl = Annotated[str | None, Field(default=None, max_length=2000), AfterValidator(_http_url)]


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    repository_url: str = Field(min_length=1, max_length=2000)
    default_branch: str = Field(default="main", min_length=1, max_length=255)
    plan_path: str | None = None
    schedule: Cron = None
    notify_url: HttpUrl = None
    analyzer_options: dict[str, dict[str, Any]] = {}


class ProjectPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    repository_url: str | None = Field(default=None, min_length=1, max_length=2000)
    default_branch: str | None = Field(default=None, min_length=1, max_length=255)
    plan_path: str | None = None
    schedule: Cron = None
    notify_url: HttpUrl = None
    analyzer_options: dict[str, dict[str, Any]] | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    repository_url: str
    default_branch: str
    plan_path: str | None
    schedule: str | None
    notify_url: str | None
    analyzer_options: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RefreshIn(BaseModel):
    ref: str | None = None
    reason: str | None = Field(default=None, max_length=2000)


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    trigger: str
    ref: str | None
    commit_sha: str | None
    priority: str
    status: str
    progress: int
    current_step: str | None
    attempts: int
    worker: str | None
    cancel_requested: bool
    heartbeat_at: datetime | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    summary: dict[str, Any]


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    status: str
    version: str | None
    error: str | None
    findings: int
    files_analyzed: int
    files_cached: int
    seconds: float
    warnings: list[Any]


class FindingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    fingerprint: str
    analyzer: str
    analyzer_version: str
    rule_id: str
    title: str
    message: str
    category: str
    severity: str
    confidence: str
    path: str
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None
    snippet: str
    suggestion: str
    fix: str
    cwe: int | None
    links: list[Any]
    state: str
    triage: str


class TriageIn(BaseModel):
    triage: Literal["open", "ignored", "false_positive", "resolved"]


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = None


class PlanTaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    task_key: str
    title: str
    status: str
    file: str
    line: int
    section: list[Any]
    phase: str | None
    priority: str | None


class PlanOut(BaseModel):
    run_id: int | None
    total: int
    todo: int
    in_progress: int
    done: int
    blocked: int
    percent: float
    health: str
    tasks: list[PlanTaskOut]


class SkillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    category: str
    confidence: float
    evidence: list[Any]


class ScorePoint(BaseModel):
    run_id: int
    finished_at: datetime | None
    score: int
    grade: str
    findings: int


class QueueRates(BaseModel):
    """Runs per minute over the last `window_seconds`, and their median wait."""

    window_seconds: int
    queued: float
    started: float
    completed: float
    failed: float
    wait_seconds_p50: float | None  # queued to started; None when none started


class QueueStatus(BaseModel):
    backend: str
    depth: dict[str, int]  # messages waiting per queue
    running: int  # runs being scanned now
    workers: int  # workers alive now
    consumers: dict[str, int]  # workers consuming each queue
    runs_by_status: dict[str, int]
    rates: QueueRates
