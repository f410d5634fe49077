"""The tables. The row of a run is the truth about it; everything else (queue
messages, events) is derived from state stored here."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints, so migrations can alter them on every backend (SQLite included).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite reuses the highest id after a delete unless a table says AUTOINCREMENT;
# a reused id would hand a stale client (or a channel's history) someone else's row.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


MAX_ID = 2**63 - 1  # ids are 64-bit on every backend


def now() -> datetime:
    return datetime.now(UTC)


def could_exist(row_id: int) -> bool:
    """Whether ROW_ID is an id a row could have; a database asked for one out
    of range fails instead of finding nothing."""
    return 0 < row_id <= MAX_ID


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, always read back with its UTC offset (SQLite forgets it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    repository_url: Mapped[str] = mapped_column(String(2000))  # never with credentials
    repository_secret: Mapped[str | None] = mapped_column(Text)  # sealed by the vault
    # host/owner/name, whatever form the URL has: how a forge's delivery finds it.
    repository_key: Mapped[str | None] = mapped_column(String(300), index=True)
    webhook_secret: Mapped[str | None] = mapped_column(Text)  # sealed by the vault
    # A pull request fails when it brings a new finding at this severity or above ("none": never).
    gate: Mapped[str] = mapped_column(String(16), default="high")
    # None: whatever the repository's HEAD names (the run records which it was).
    default_branch: Mapped[str | None] = mapped_column(String(255))
    plan_path: Mapped[str | None] = mapped_column(String(1000))
    notify_url: Mapped[str | None] = mapped_column(String(2000))  # told when a run ends
    schedule: Mapped[str | None] = mapped_column(String(100))  # cron expression
    analyzer_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    runs: Mapped[list[Run]] = relationship(back_populates="project", passive_deletes=True)


class RunStatus(StrEnum):
    """Where a run is in its life (`repolens.jobs.lifecycle` moves it)."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED,
                      RunStatus.SUPERSEDED})  # fmt: skip


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_project_status", "project_id", "status"),
        Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(32))  # manual, push, pull_request, schedule
    ref: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="default")
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(255))
    job_id: Mapped[str | None] = mapped_column(String(255))  # the queue's id, for revoking
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    queued_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pull_request: Mapped[int | None] = mapped_column(Integer)  # a pull request's run: its number
    base_commit: Mapped[str | None] = mapped_column(String(64))  # what its findings are new against
    # Where the request came from, for feedback: forge, repository, branch, installation.
    origin: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The user who asked for it (their tier counts it); None: a forge, a schedule, the operator.
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    project: Mapped[Project] = relationship(back_populates="runs")
    steps: Mapped[list[Step]] = relationship(back_populates="run", passive_deletes=True)


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("run_id", "name"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    files_analyzed: Mapped[int] = mapped_column(Integer, default=0)
    files_cached: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    warnings: Mapped[list[Any]] = mapped_column(default=list)

    run: Mapped[Run] = relationship(back_populates="steps")


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("run_id", "fingerprint"),
        Index("ix_findings_project_fingerprint", "project_id", "fingerprint"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    analyzer: Mapped[str] = mapped_column(String(64))
    analyzer_version: Mapped[str] = mapped_column(String(100), default="")
    rule_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2000))
    line: Mapped[int | None]
    column: Mapped[int | None]
    end_line: Mapped[int | None]
    end_column: Mapped[int | None]
    snippet: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    cwe: Mapped[int | None]
    links: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # every engine's rule
    role: Mapped[str] = mapped_column(String(16), default="source")  # of its file
    state: Mapped[str] = mapped_column(String(16), default="new")  # new, existing, fixed
    triage: Mapped[str] = mapped_column(String(16), default="open")

    run: Mapped[Run] = relationship()


class PlanTask(Base):
    __tablename__ = "plan_tasks"
    __table_args__ = (UniqueConstraint("project_id", "task_key"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    task_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    file: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int] = mapped_column(Integer)
    section: Mapped[list[Any]] = mapped_column(default=list)
    phase: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(String(16))
    first_seen_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL")
    )
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class PlanSnapshot(Base):
    __tablename__ = "plan_snapshots"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    total: Mapped[int] = mapped_column(Integer)
    todo: Mapped[int] = mapped_column(Integer)
    in_progress: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)
    percent: Mapped[float] = mapped_column(Float)
    health: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Skill(Base):
    __tablename__ = "skills"
    __table_args__ = (UniqueConstraint("run_id", "name"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(default=list)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("run_id", "format"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2000))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)


class RefreshRequest(Base):
    """The refresh history: who asked for a scan of a project, and when."""

    __tablename__ = "refresh_history"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=now)


class OutboxMessage(Base):
    """A message to the queue, written in the same transaction as the state it
    announces; the dispatcher sends it and marks it dispatched. A message whose
    writer sends it itself as it commits is left to that writer until
    `send_after`, so the two do not both send it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    dispatched_at: Mapped[datetime | None]
    send_after: Mapped[datetime | None]  # None: the dispatcher may send it at once
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One webhook delivery from a forge, as received and as handled."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("forge", "delivery_id", "hook"),
        Index("ix_deliveries_received_at", "received_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    forge: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str | None] = mapped_column(String(100))  # None for a replay
    # Which hook it came to: 0 the deployment's, else the project whose own hook it was.
    # A forge sends the same delivery id to every hook of a repository.
    hook: Mapped[int] = mapped_column(Integer, default=0)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    repository: Mapped[str | None] = mapped_column(String(300))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))  # queued, skipped, ignored, cancelled
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # kept for a replay
    replay_of: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(default=now)
    handled_ms: Mapped[float | None] = mapped_column(Float)


class Role(StrEnum):
    """What a member may do on a project, each including the one before."""

    VIEWER = "viewer"  # reads
    MAINTAINER = "maintainer"  # triggers, triages, edits the project and its webhooks
    ADMIN = "admin"  # everything on the project, its members included


class User(Base):
    """Someone who signs in. `admin` is the instance's admin: every project, and users."""

    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None: single sign-on only
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(32), default="free")  # what they may run
    admin_from_sign_on: Mapped[bool] = mapped_column(Boolean, default=False)  # a group made them
    created_at: Mapped[datetime] = mapped_column(default=now)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """A user's role on a project."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    from_sign_on: Mapped[bool] = mapped_column(Boolean, default=False)  # a group's, not by hand

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(Base):
    """A token a user made for scripts: only its digest is kept. SCOPES bound what
    it may do within its owner's roles."""

    __tablename__ = "api_tokens"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the whole token
    hint: Mapped[str] = mapped_column(String(16))  # its first characters, to recognise it by
    scopes: Mapped[list[Any]] = mapped_column(default=list)  # read, write, admin
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what, when and from where. The project is named by id only, so
    its history outlives it."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_project_id", "project_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(64))  # a username, "local" or "instance-token"
    user_id: Mapped[int | None] = mapped_column(Integer)
    token_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))  # project.create, run.trigger, token.revoke…
    project_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(200))  # what it was done to
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BrowserSession(Base):
    """A signed-in browser: its cookie is kept only as a digest; state-changing
    requests from it must carry its CSRF token."""

    __tablename__ = "browser_sessions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]


class ExternalIdentity(Base):
    """Who a user is at a single sign-on provider (`oidc`, `github`): their
    first sign-in there made the user."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now)


class PendingSignIn(Base):
    """A sign-in begun and not finished: a single sign-on flow's state, or a
    one-time sign-in link. Taken once; worthless after `expires_at`."""

    __tablename__ = "pending_sign_ins"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
