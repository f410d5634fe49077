"""What the API reads and writes. Separate from the tables on purpose: a column
can change without changing the contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from repolens.errors import Refused
from repolens.git import arguments
from repolens.git.mirror import redact

Item = TypeVar("Item")


def _guarded(guard: Callable[[str], str]) -> Callable[[str], str]:
    """GUARD as a validator: its refusal becomes the field's 422 message, word
    for word what the command line says for the same input."""

    def validate(value: str) -> str:
        try:
            return guard(value)
        except Refused as exc:
            raise PydanticCustomError("refused", str(exc)) from None

    return validate


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", "may be left out, but not null")
    return value


Ref = Annotated[str, AfterValidator(_guarded(arguments.revision))]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Url = Annotated[str, Field(min_length=1, max_length=arguments.MAX_URL_LENGTH)]
Path = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]+$")]
Schedule = Annotated[str, Field(min_length=1, max_length=100)]
# A project's own webhook secret: written, never read back.
WebhookSecret = Annotated[SecretStr, Field(min_length=16, max_length=200)]
ForgeName = Literal["github", "gitlab", "gitea"]
Gate = Literal["critical", "high", "medium", "low", "info", "none"]
Options = Annotated[dict[str, dict[str, Any]], Field(max_length=20),
                    AfterValidator(lambda value: _small(value, 20_000))]  # fmt: skip


def _small(value: Any, limit: int) -> Any:
    if len(json.dumps(value, default=str)) > limit:
        raise PydanticCustomError("too_large", f"may take at most {limit} characters as JSON")
    return value


class ProjectIn(BaseModel):
    name: Name
    repository_url: Url
    default_branch: Ref | None = Field(
        default=None,
        max_length=arguments.MAX_REF_LENGTH,
        description="left out: the branch the repository's HEAD names, read at each run",
    )
    plan_path: Path | None = None
    schedule: Schedule | None = None
    notify_url: Url | None = None
    analyzer_options: Options = {}
    webhook_secret: WebhookSecret | None = None
    gate: Gate = Field(default="high", description="a pull request fails on a new finding at "
                       "this severity or above; none: never")  # fmt: skip


class ProjectPatch(BaseModel):
    """Fields left out stay as they are; plan_path, schedule and notify_url may
    be set to null to clear them, the others may not."""

    name: Name | SkipJsonSchema[None] = None
    repository_url: Url | SkipJsonSchema[None] = None
    default_branch: Ref | None = Field(default=None, max_length=arguments.MAX_REF_LENGTH)
    plan_path: Path | None = None
    schedule: Schedule | None = None
    notify_url: Url | None = None
    analyzer_options: Options | SkipJsonSchema[None] = None
    webhook_secret: WebhookSecret | None = None
    gate: Gate | SkipJsonSchema[None] = None

    _required = field_validator("name", "repository_url", "analyzer_options", "gate",
                                mode="before")(_not_null)  # fmt: skip


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    repository_url: Annotated[str, AfterValidator(redact)]  # never with credentials
    repository_credentials: bool = Field(description="whether credentials are stored for it")
    default_branch: str | None
    plan_path: str | None
    schedule: str | None
    notify_url: str | None
    analyzer_options: dict[str, Any]
    repository_key: str | None = Field(description="host/owner/name: what forge deliveries match")
    gate: str
    webhook_secret: bool = Field(description="whether the project has its own webhook secret")
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _credentials(cls, project: Any) -> Any:
        if isinstance(project, dict):
            return project
        flags = {"repository_credentials": bool(project.repository_secret),
                 "webhook_secret": bool(project.webhook_secret)}  # fmt: skip
        return {**{name: getattr(project, name) for name in cls.model_fields
                   if name not in flags}, **flags}  # fmt: skip


class RefreshIn(BaseModel):
    ref: Ref | None = Field(default=None, max_length=arguments.MAX_REF_LENGTH)
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
    pull_request: int | None = None
    base_commit: str | None = None


class DeliveryOut(BaseModel):
    """A forge's webhook delivery, and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    forge: str
    delivery_id: str | None = Field(description="the forge's id; null for a replay")
    event: str
    action: str | None
    repository: str | None
    project_id: int | None
    run_id: int | None
    status: str = Field(description="queued, skipped, ignored or cancelled")
    reason: str | None
    replay_of: int | None
    received_at: datetime
    handled_ms: float | None


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
    evidence: list[str]
    role: str
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


class ProblemField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 says (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None


Username = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
RoleName = Literal["viewer", "maintainer", "admin"]
ScopeName = Literal["read", "write", "admin"]
TierName = Annotated[str, Field(min_length=1, max_length=32, description="one of REPOLENS_TIERS")]


class UserIn(BaseModel):
    username: Username
    password: SecretStr | None = Field(
        default=None,
        description="12 characters or more; left out: the user signs in through single sign-on",
    )
    email: Annotated[str, Field(max_length=254)] | None = None
    display_name: Name | None = None
    admin: bool = Field(default=False, description="the instance's admin: every project, users")
    tier: TierName | None = Field(default=None, description="what they may run; default: "
                                  "REPOLENS_DEFAULT_TIER")  # fmt: skip


class UserPatch(BaseModel):
    disabled: bool | None = None
    admin: bool | None = None
    tier: TierName | None = None
    display_name: Name | None = None
    email: Annotated[str, Field(max_length=254)] | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str | None
    display_name: str | None
    admin: bool
    disabled: bool
    tier: str
    created_at: datetime


class MemberIn(BaseModel):
    role: RoleName


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    project_id: int
    role: RoleName


class TokenIn(BaseModel):
    name: Name
    scopes: Annotated[list[ScopeName], Field(min_length=1, max_length=3)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=90, description="null: never expires"
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    hint: str = Field(description="the token's first characters, to recognise it by")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenMade(TokenOut):
    token: str = Field(description="shown this once; only its digest is kept")


class Me(BaseModel):
    name: str
    user_id: int | None
    admin: bool
    scopes: list[str]
    roles: dict[int, str] = Field(description="role by project id")
    csrf_token: str | None = Field(
        default=None,
        description="a signed-in browser's: its X-CSRF-Token for every request that changes "
        "something",
    )


class AuditOut(BaseModel):
    """Who did what, when and from where."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    user_id: int | None
    token_id: int | None
    address: str | None
    action: str
    project_id: int | None
    target: str | None
    details: dict[str, Any]
