"""Putting runs back in the queue: after a restart of the embedded server, and
(the reaper) when a distributed worker stopped sending heartbeats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle
from repolens.jobs.queue import JobQueue
from repolens.realtime.feed import Feed
from repolens.storage.models import Run, RunStatus, now


def requeue_orphans(
    sessions: sessionmaker[Session],
    stale_after: timedelta | None,
    *,
    max_attempts: int = 3,
    feed: Feed | None = None,
) -> list[int]:
    """Runs left `running` by a dead worker go back to `queued` with a fresh
    outbox message; returns their ids. With STALE_AFTER None every running run
    is an orphan (the embedded server at start-up: it was the only worker).

    A run that has already been started MAX_ATTEMPTS times fails instead: a scan
    that kills its worker (memory, a hard limit) would otherwise do it forever.
    FEED hears that it ended."""
    with lifecycle.changing(sessions, feed or Feed(None)) as session:
        query = select(Run).where(Run.status == RunStatus.RUNNING)
        if stale_after is not None:
            query = query.where(Run.heartbeat_at < now() - stale_after)
        orphans = session.scalars(query.with_for_update(skip_locked=True)).all()
        requeued = []
        for run in orphans:
            if run.attempts >= max_attempts:
                lifecycle.fail(session, run, f"its worker stopped while running it {run.attempts} "
                               "times (killed, out of memory or over the time limit); not tried "
                               "again", step="given up")  # fmt: skip
            else:
                lifecycle.requeue(session, run)
                requeued.append(run.id)
    return requeued


def waiting(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    """Queued runs, oldest first: what a fresh embedded queue must hold."""
    with sessions() as session:
        rows = session.execute(
            select(Run.id, Run.priority).where(Run.status == RunStatus.QUEUED).order_by(Run.id)
        ).all()
        return [(run_id, priority) for run_id, priority in rows]


def terminate_overdue(
    sessions: sessionmaker[Session], queue: JobQueue, grace: timedelta, feed: Feed | None = None
) -> list[int]:
    """Runs asked to cancel more than GRACE ago and still running are stopped by
    force, where the backend can, and marked cancelled; FEED hears that they ended."""
    with lifecycle.changing(sessions, feed or Feed(None)) as session:
        overdue = session.scalars(
            select(Run)
            .where(
                Run.status == RunStatus.RUNNING,
                Run.cancel_requested.is_(True),
                Run.cancel_requested_at < now() - grace,
            )
            .with_for_update(skip_locked=True)
        ).all()
        stopped = [run for run in overdue if run.job_id and queue.terminate(run.job_id)]
        for run in stopped:
            lifecycle.cancel(session, run, "terminated: still running after the cancel grace "
                             "period")  # fmt: skip
    return [run.id for run in stopped]
