"""Queries about runs. Creating a run writes its outbox message in the same
transaction, so an accepted trigger is never lost while the broker is down."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Insert, String, bindparam, func, insert, literal, select, true, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from repolens.errors import NotFoundError
from repolens.storage.models import OutboxMessage, Project, RefreshRequest, Run, could_exist, now

PRIORITIES = ("high", "default", "low")
PROJECTS, RUNS, OUTBOX = (Run.metadata.tables[name] for name in ("projects", "runs", "outbox"))
TERMINAL = ("completed", "failed", "cancelled", "superseded")


def create(
    session: Session,
    project_id: int,
    *,
    trigger: str,
    ref: str | None = None,
    priority: str = "default",
) -> Run:
    """Queue a run of the project (its default branch unless REF) with its outbox
    message. On PostgreSQL that is one statement, as it is on the path of every
    trigger; elsewhere two."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    moment = now()
    params = {"project_id": project_id, "trigger": trigger, "ref": ref, "priority": priority,
              "job_id": _job_id(), "moment": moment,
              "send_after": _send_after(session, moment)}  # fmt: skip
    inserted = _insert(session, params)
    if inserted is None:
        raise NotFoundError(f"project {project_id} not found")
    run, message_id = inserted
    if trigger == "push":
        _supersede(session, run)
    _remember(session, Announcement(run, message_id, QUEUED, message(run)))
    return run


def _insert(session: Session, params: dict[str, Any]) -> tuple[Run, int] | None:
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(_run_with_message(), params).first()
        return None if row is None else (row[0], int(row[1]))
    run: Run | None = session.scalars(_run_only(), params).first()
    return None if run is None else (run, _insert_message(session, QUEUED, message(run)))


def announce(session: Session, run: Run) -> None:
    """Queue RUN again (a retry, an orphan): a fresh job id on its row and an
    outbox message that carries it. Fixing the id in the same transaction keeps
    the dispatcher off the run row, so a worker claiming the run never waits on
    the dispatcher's transaction."""
    run.job_id = _job_id()
    _write(session, run, QUEUED, message(run))


def order_reports(session: Session, run: Run) -> None:
    """Ask for RUN's slow report formats, rendered by a job of their own (the
    `report` queue) once this transaction has stored its results."""
    _write(session, run, REPORT, {"run_id": run.id})


def order_notice(session: Session, run: Run) -> None:
    """Tell the project's notify URL, if it has one, that RUN ended (the `notify`
    queue), once this transaction has stored how."""
    if run.project.notify_url:
        _write(session, run, NOTIFY, {"run_id": run.id})


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


def _write(session: Session, run: Run, topic: str, payload: dict[str, Any]) -> None:
    message_id = _insert_message(session, topic, payload)
    _remember(session, Announcement(run, message_id, topic, payload))


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


# Outbox topics: a scan, a report rendering, a notification.
QUEUED, REPORT, NOTIFY = "run.queued", "run.report", "run.notify"


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
            select(literal(QUEUED), payload, queued.c.queued_at, send_after, literal(0)),
            include_defaults=False,
        )
        .returning(OUTBOX.c.id)
        .cte("queued_message")
    )
    both = select(queued, written.c.id.label("message_id")).join_from(queued, written, true())
    return select(Run, both.selected_columns.message_id).from_statement(both)


def _supersede(session: Session, newer: Run) -> None:
    """A push makes older pushes to the same branch that have not started moot."""
    session.execute(
        update(Run)
        .where(
            Run.project_id == newer.project_id,
            Run.ref == newer.ref,
            Run.trigger == "push",
            Run.status == "queued",
            Run.id < newer.id,
        )
        .values(status="superseded", finished_at=now(), error=f"superseded by run {newer.id}")
    )


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


def refresh(
    session: Session,
    project_id: int,
    ref: str | None = None,
    *,
    requested_by: str | None = None,
    reason: str | None = None,
) -> tuple[Run, bool]:
    """A manual scan of the project at REF (default: its branch), at high
    priority, with the request in the refresh history. While a run of the same
    project and ref is still queued, that run is the answer and nothing new is
    queued; returns the run and whether it is new. The project's row is locked
    first, so two refreshes at once cannot both queue."""
    project = session.get(Project, project_id, with_for_update=True) if could_exist(project_id) \
        else None  # fmt: skip
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    waiting = session.scalar(
        select(Run)
        .where(Run.project_id == project_id, Run.status == "queued",
               Run.ref == (ref or project.default_branch))
        .order_by(Run.id)
        .limit(1)
    )  # fmt: skip
    run = waiting or create(session, project_id, trigger="manual", ref=ref, priority="high")
    session.add(RefreshRequest(project_id=project_id, run_id=run.id, requested_by=requested_by,
                               reason=reason))  # fmt: skip
    return run, waiting is None


def get_status(sessions: sessionmaker[Session], run_id: int) -> str:
    """The run's status; "deleted" when it is gone with its project."""
    with sessions() as session:
        run = find(session, run_id)
        return run.status if run is not None else "deleted"
