"""Runs in the database, and the outbox messages written with them. Creating a
run writes its message in the same transaction, so an accepted trigger is never
lost while the broker is down. Which message, and when a run changes state, is
the lifecycle's to say (`repolens.jobs.lifecycle`); here is only how."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Insert,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ExecutableReturnsRows
from sqlalchemy.types import TypeEngine

from repolens.errors import NotFoundError
from repolens.storage.models import OutboxMessage, Run, RunStatus, could_exist, now

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
    commit when it names one) with its outbox message on TOPIC (`message(run)`)."""
    made = create_all(session, [Wanted(project_id, trigger, ref, priority, source or Source())],
                      topic)[0]  # fmt: skip
    if made is None:
        raise NotFoundError(f"project {project_id} not found")
    return made


@dataclass(frozen=True)
class Source:
    """What a forge's request for a run says beyond a ref: the exact commit, the
    pull request and its base, and where to send feedback (`origin`)."""

    commit: str | None = None
    pull_request: int | None = None
    base_commit: str | None = None
    origin: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wanted:
    """A run asked for: of PROJECT_ID, for TRIGGER, at REF (None: the project's
    branch), at PRIORITY, with what its SOURCE says."""

    project_id: int
    trigger: str
    ref: str | None = None
    priority: str = "default"
    source: Source = field(default_factory=Source)


def create_all(session: Session, wanted: list[Wanted], topic: str) -> list[Run | None]:
    """Queued runs for WANTED, in order (None where the project does not exist),
    each with its outbox message on TOPIC. On PostgreSQL that is one statement
    for all of them, as it is on the path of every trigger and of every batch
    of forge deliveries; elsewhere two a run."""
    if not wanted:
        return []
    for one in wanted:
        if one.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    moment = now()
    rows = [{"project_id": one.project_id, "trigger": one.trigger, "ref": one.ref,
             "priority": one.priority, "job_id": _job_id(), "commit": one.source.commit,
             "pull_request": one.source.pull_request, "base_commit": one.source.base_commit,
             "origin": dict(one.source.origin)} for one in wanted]  # fmt: skip
    shared = {"moment": moment, "topic": topic, "send_after": _send_after(session, moment)}
    if session.get_bind().dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in _WANTED}
        columns["origin"] = [json.dumps(row["origin"]) for row in rows]
        made = {run.job_id: (run, int(message_id))
                for run, message_id in session.execute(_runs_with_messages(),
                                                       {**columns, **shared})}  # fmt: skip
    else:
        made = {}
        for row in rows:
            run = session.scalars(_run_only(), {**row, **shared}).first()
            if run is not None:
                made[row["job_id"]] = (run, _insert_message(session, topic, message(run)))
    found: list[Run | None] = []
    for row in rows:
        run, message_id = made.get(row["job_id"], (None, 0))
        if run is not None:
            _remember(session, Announcement(run, message_id, topic, message(run)))
        found.append(run)
    return found


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


# What each wanted run brings to its row, by name, and the SQL type it has there.
_WANTED: dict[str, type[TypeEngine[Any]]] = {
    "project_id": Integer, "trigger": String, "ref": String, "priority": String, "job_id": String,
    "commit": String, "pull_request": Integer, "base_commit": String, "origin": Text,
}  # fmt: skip


def _run_insert(wanted: dict[str, Any], *, where: Any, order: Any = None) -> Insert:
    """INSERT INTO runs … SELECT … FROM projects, taking each run's own values
    from WANTED (its columns by name) for the projects WHERE chooses: no row
    when the project is unknown. ORDER is the order their ids are given in.
    Every column is named: defaults computed in Python cannot be taken inside
    a CTE."""
    project = PROJECTS.c
    columns = {
        "project_id": project.id,
        "trigger": wanted["trigger"],
        "ref": func.coalesce(wanted["ref"], project.default_branch),
        "priority": wanted["priority"],
        "status": literal("queued"),
        "job_id": wanted["job_id"],
        "queued_at": bindparam("moment", type_=RUNS.c.queued_at.type),
        "progress": literal(0),
        "attempts": literal(0),
        "cancel_requested": literal(False),
        "summary": literal({}, JSON),
        "commit_sha": wanted["commit"],
        "pull_request": wanted["pull_request"],
        "base_commit": wanted["base_commit"],
        "origin": wanted["origin"],
    }
    chosen = select(*columns.values()).where(where)
    if order is not None:
        chosen = chosen.order_by(order)
    return insert(RUNS).from_select(list(columns), chosen, include_defaults=False)


@functools.cache
def _run_only() -> ExecutableReturnsRows:
    """One run, its values bound one by one."""
    wanted: dict[str, ColumnElement[Any]] = {
        name: bindparam(name, type_=kind) for name, kind in _WANTED.items()
    }
    wanted["origin"] = bindparam("origin", type_=JSON)
    inserted = _run_insert(wanted, where=PROJECTS.c.id == wanted["project_id"])
    return select(Run).from_statement(inserted.returning(*RUNS.c))


@functools.cache
def _runs_with_messages() -> ExecutableReturnsRows:
    """Many runs and their outbox messages in one PostgreSQL statement: the runs'
    values come as one array a column (`unnest`), the messages are written by a
    data-modifying CTE, their payload `message(run)` built in SQL. The runs'
    ids follow the order they were asked for: the newest push is the last."""
    arrays = [bindparam(name, type_=ARRAY(kind)) for name, kind in _WANTED.items()]
    rows = (
        func.unnest(*arrays)
        .table_valued(
            *(column(name, kind) for name, kind in _WANTED.items()),
            name="wanted",
            with_ordinality="position",
        )
        .render_derived()
    )
    wanted: dict[str, ColumnElement[Any]] = {name: rows.c[name] for name in _WANTED}
    wanted["origin"] = cast(rows.c.origin, JSON)
    inserted = _run_insert(
        wanted, where=PROJECTS.c.id == rows.c.project_id, order=rows.c.position
    )  # ids in the order they were asked for
    queued = inserted.returning(*RUNS.c).cte("queued_runs")
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
        .returning(OUTBOX.c.id, OUTBOX.c.payload)
        .cte("queued_messages")
    )
    both = select(queued, written.c.id.label("message_id")).join_from(
        queued, written, queued.c.id == written.c.payload["run_id"].as_integer()
    )
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


def active_of(session: Session, user_id: int) -> int:
    """How many runs USER_ID asked for are queued or running."""
    return session.scalar(
        select(func.count()).select_from(Run)
        .where(Run.requested_by == user_id, Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
    ) or 0  # fmt: skip


def project_of(session: Session, run_id: int) -> int | None:
    """The project of run RUN_ID; None when there is no such run."""
    if not could_exist(run_id):
        return None
    return session.scalar(select(Run.project_id).where(Run.id == run_id))


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
