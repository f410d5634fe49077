"""Runs in the database, and the outbox messages written with them. Creating a
run writes its message in the same transaction, so an accepted trigger is never
lost while the broker is down. Which message, and when a run changes state, is
the lifecycle's to say (`repolens.jobs.lifecycle`); here is only how."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Integer,
    String,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from repolens.errors import NotFoundError
from repolens.storage.models import OutboxMessage, Run, could_exist, now

PRIORITIES = ("high", "default", "low")
PROJECTS, RUNS, OUTBOX = (Run.metadata.tables[name] for name in ("projects", "runs", "outbox"))


def create(
    session: Session,
    project_id: int,
    *,
    trigger: str,
    ref: str | None = None,
    priority: str = "default",
    topic: str,
    source: Source | None = None,
) -> Run:
    """A queued run of the project (its default branch unless REF; SOURCE's
    commit when it names one) with its outbox message on TOPIC (`message(run)`).
    On PostgreSQL that is one statement, as it is on the path of every trigger;
    elsewhere two."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    moment, source = now(), source or Source()
    params = {"project_id": project_id, "trigger": trigger, "ref": ref, "priority": priority,
              "job_id": _job_id(), "moment": moment, "topic": topic,
              "send_after": _send_after(session, moment), "commit": source.commit,
              "pull_request": source.pull_request, "base_commit": source.base_commit,
              "origin": dict(source.origin)}  # fmt: skip
    inserted = _insert(session, params)
    if inserted is None:
        raise NotFoundError(f"project {project_id} not found")
    run, message_id = inserted
    _remember(session, Announcement(run, message_id, topic, message(run)))
    return run


@dataclass(frozen=True)
class Source:
    """What a forge's request for a run says beyond a ref: the exact commit, the
    pull request and its base, and where to send feedback (`origin`)."""

    commit: str | None = None
    pull_request: int | None = None
    base_commit: str | None = None
    origin: dict[str, Any] = field(default_factory=dict)


def _insert(session: Session, params: dict[str, Any]) -> tuple[Run, int] | None:
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_run_with_message(), params).first()
        return None if row is None else (row[0], int(row[1]))
    run: Run | None = session.scalars(_run_only(), params).first()
    if run is None:
        return None
    return run, _insert_message(session, params["topic"], message(run))


def renew_job(session: Session, run: Run, topic: str) -> None:
    """Send RUN again (a retry, an orphan): a fresh job id on its row and a
    message on TOPIC that carries it. Fixing the id in the same transaction
    keeps the dispatcher off the run row, so a worker claiming the run never
    waits on the dispatcher's transaction."""
    run.job_id = _job_id()
    announce(session, run, topic, message(run))


def announce(session: Session, run: Run, topic: str, payload: dict[str, Any]) -> None:
    """An outbox message about RUN on TOPIC, sent once this transaction commits."""
    message_id = _insert_message(session, topic, payload)
    _remember(session, Announcement(run, message_id, topic, payload))


@dataclass(frozen=True)
class Announcement:
    """An outbox message written in a transaction about RUN, to be sent the
    moment that transaction commits (`outbox.send_on_commit`)."""

    run: Run
    message_id: int
    topic: str
    payload: dict[str, Any]


ANNOUNCED = "repolens.runs.announced"  # the Announcements a session has made
# Set (in seconds) on sessions whose owner sends what they announce as they commit:
# their messages are left to it that long before a dispatcher may send them.
SENDS_WITHIN = "repolens.runs.sends_within"


def announced(session: Session) -> list[Announcement]:
    """Take the runs SESSION announced in the transaction it just committed."""
    return list(session.info.pop(ANNOUNCED, []))


def message(run: Run) -> dict[str, Any]:
    """The outbox payload that queues RUN: ids only, the row is the truth."""
    return {"run_id": run.id, "priority": run.priority, "job_id": run.job_id}


def _remember(session: Session, announcement: Announcement) -> None:
    session.info.setdefault(ANNOUNCED, []).append(announcement)


def _insert_message(session: Session, topic: str, payload: dict[str, Any]) -> int:
    inserted = session.scalar(
        insert(OutboxMessage)
        .values(topic=topic, payload=payload, send_after=_send_after(session, now()))
        .returning(OutboxMessage.id)
    )
    return int(inserted or 0)


def _send_after(session: Session, moment: datetime) -> datetime | None:
    within = session.info.get(SENDS_WITHIN)
    return moment + timedelta(seconds=within) if within else None


def _job_id() -> str:
    return f"run-{uuid.uuid4().hex}"


def _run_insert() -> Insert:
    """INSERT INTO runs … SELECT … FROM projects: no row when the project is
    unknown. Every column is named: defaults computed in Python cannot be
    taken inside a CTE."""
    project = PROJECTS.c
    columns = {
        "project_id": project.id,
        "trigger": bindparam("trigger", type_=String),
        "ref": func.coalesce(bindparam("ref", type_=String), project.default_branch),
        "priority": bindparam("priority", type_=String),
        "status": literal("queued"),
        "job_id": bindparam("job_id", type_=String),
        "queued_at": bindparam("moment", type_=RUNS.c.queued_at.type),
        "progress": literal(0),
        "attempts": literal(0),
        "cancel_requested": literal(False),
        "summary": literal({}, JSON),
        "commit_sha": bindparam("commit", type_=String),
        "pull_request": bindparam("pull_request", type_=Integer),
        "base_commit": bindparam("base_commit", type_=String),
        "origin": bindparam("origin", type_=JSON),
    }
    chosen = select(*columns.values()).where(project.id == bindparam("project_id"))
    return insert(RUNS).from_select(list(columns), chosen, include_defaults=False)


@functools.cache
def _run_only() -> ExecutableReturnsRows:
    return select(Run).from_statement(_run_insert().returning(*RUNS.c))


@functools.cache
def _run_with_message() -> ExecutableReturnsRows:
    """The run and its outbox message in one PostgreSQL statement (data-modifying
    CTEs); the payload is `message(run)`, built in SQL."""
    queued = _run_insert().returning(*RUNS.c).cte("queued_run")
    send_after = bindparam("send_after", type_=OUTBOX.c.send_after.type)
    payload = func.json_build_object("run_id", queued.c.id, "priority", queued.c.priority,
                                     "job_id", queued.c.job_id)  # fmt: skip
    written = (
        insert(OUTBOX)
        .from_select(
            ["topic", "payload", "created_at", "send_after", "attempts"],
            select(
                bindparam("topic", type_=String),
                payload,
                queued.c.queued_at,
                send_after,
                literal(0),
            ),
            include_defaults=False,
        )
        .returning(OUTBOX.c.id)
        .cte("queued_message")
    )
    both = select(queued, written.c.id.label("message_id")).join_from(queued, written, true())
    return select(Run, both.selected_columns.message_id).from_statement(both)


def claim(session: Session, run_id: int) -> Run | None:
    """Move a queued run to running and return it; None when it is not queued
    (already taken, finished or cancelled). One conditional UPDATE, so two
    workers handed the same run cannot both win, on any backend. A run deleted
    with its project is not claimed either."""
    if find(session, run_id) is None:
        return None
    claimed = session.execute(
        update(Run).where(Run.id == run_id, Run.status == "queued").values(status="running")
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    return session.scalar(
        select(Run).where(Run.id == run_id).execution_options(populate_existing=True)
    )


def activity(session: Session, since: datetime) -> tuple[dict[str, int], list[float]]:
    """Since SINCE: how many runs were queued and started, and ended by each
    status; and each started run's wait in the queue, in seconds."""
    started = session.execute(select(Run.queued_at, Run.started_at).where(Run.started_at >= since))
    waits = [(began - queued).total_seconds() for queued, began in started if began is not None]
    counts = {
        "queued": session.scalar(select(func.count()).where(Run.queued_at >= since)) or 0,
        "started": len(waits),
    }
    ended = select(Run.status, func.count()).where(Run.finished_at >= since).group_by(Run.status)
    counts.update({status: count for status, count in session.execute(ended)})
    return counts, waits


def get(session: Session, run_id: int) -> Run:
    run = find(session, run_id)
    if run is None:
        raise NotFoundError(f"run {run_id} not found")
    return run


def find(session: Session, run_id: int) -> Run | None:
    """The run, or None (never there, or deleted with its project)."""
    return session.get(Run, run_id) if could_exist(run_id) else None


def get_status(sessions: sessionmaker[Session], run_id: int) -> str:
    """The run's status; "deleted" when it is gone with its project."""
    with sessions() as session:
        run = find(session, run_id)
        return run.status if run is not None else "deleted"
