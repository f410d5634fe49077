"""Queries about runs. Creating a run writes its outbox message in the same
transaction, so an accepted trigger is never lost while the broker is down."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
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
              priority=priority, status="queued")  # fmt: skip
    session.add(run)
    session.flush()
    if trigger == "push":
        _supersede(session, run)
    announce(session, run)
    session.flush()
    return run


def announce(session: Session, run: Run) -> None:
    """Queue RUN: a fresh job id on its row, and an outbox message that carries it.
    Fixing the id here keeps the dispatcher off the run row, so a worker claiming
    the run never waits on the dispatcher's transaction."""
    run.job_id = f"run-{run.id}-{uuid.uuid4().hex[:12]}"
    payload = {"run_id": run.id, "priority": run.priority, "job_id": run.job_id}
    session.add(OutboxMessage(topic="run.queued", payload=payload))


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
