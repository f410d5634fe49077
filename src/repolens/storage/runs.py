"""Queries about runs. Creating a run writes its outbox message in the same
transaction, so an accepted trigger is never lost while the broker is down."""

from __future__ import annotations

import uuid

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import NotFoundError
from repolens.storage.models import OutboxMessage, Project, Run, now

PRIORITIES = ("high", "default", "low")
TERMINAL = ("completed", "failed", "cancelled", "superseded")


def create(
    session: Session,
    project: Project,
    *,
    trigger: str,
    ref: str | None = None,
    priority: str = "default",
) -> Run:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
    run = Run(project_id=project.id, trigger=trigger, ref=ref or project.default_branch,
              priority=priority, status="queued", job_id=_job_id())  # fmt: skip
    session.add(run)
    session.flush()
    if trigger == "push":
        _supersede(session, run)
    announce(session, run, job_id=run.job_id)
    return run


def announce(session: Session, run: Run, job_id: str | None = None) -> None:
    """Queue RUN: a fresh job id on its row, and an outbox message that carries it.
    Fixing the id here keeps the dispatcher off the run row, so a worker claiming
    the run never waits on the dispatcher's transaction. The pair is also
    remembered in the session, so it can be sent the moment it commits
    (`outbox.send_on_commit`)."""
    run.job_id = job_id or _job_id()
    payload = {"run_id": run.id, "priority": run.priority, "job_id": run.job_id}
    message = OutboxMessage(topic="run.queued", payload=payload)
    session.add(message)
    session.info.setdefault(ANNOUNCED, []).append((run, message))


ANNOUNCED = "repolens.runs.announced"  # (run, message) pairs this session wrote


def announced(session: Session) -> list[tuple[Run, OutboxMessage]]:
    """Take the runs SESSION announced in the transaction it just committed."""
    return [(run, message) for run, message in session.info.pop(ANNOUNCED, [])
            if inspect(message).has_identity]  # fmt: skip


def _job_id() -> str:
    return f"run-{uuid.uuid4().hex}"


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
    workers handed the same run cannot both win, on any backend."""
    get(session, run_id)
    claimed = session.execute(
        update(Run).where(Run.id == run_id, Run.status == "queued").values(status="running")
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    return session.scalar(
        select(Run).where(Run.id == run_id).execution_options(populate_existing=True)
    )


def get(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"run {run_id} not found")
    return run


def get_status(sessions: sessionmaker[Session], run_id: int) -> str:
    with sessions() as session:
        return get(session, run_id).status
