"""Putting runs back in the queue: after a restart of the embedded server, and
(the reaper) when a distributed worker stopped sending heartbeats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs.queue import JobQueue
from repolens.realtime.feed import Feed
from repolens.storage import runs
from repolens.storage.models import Run, now


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
    with sessions.begin() as session:
        query = select(Run).where(Run.status == "running")
        if stale_after is not None:
            query = query.where(Run.heartbeat_at < now() - stale_after)
        orphans = session.scalars(query.with_for_update(skip_locked=True)).all()
        given_up = [run for run in orphans if run.attempts >= max_attempts]
        for run in given_up:
            run.status, run.finished_at, run.current_step = "failed", now(), "given up"
            run.error = (f"its worker stopped while running it {run.attempts} times (killed, "
                         "out of memory or over the time limit); not tried again")  # fmt: skip
            runs.order_notice(session, run)
        requeued = [run for run in orphans if run not in given_up]
        for run in requeued:
            run.status, run.worker, run.current_step = "queued", None, "requeued"
            runs.announce(session, run)
    for run in given_up:
        (feed or Feed(None)).finished(run)
    return [run.id for run in requeued]


def waiting(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    """Queued runs, oldest first: what a fresh embedded queue must hold."""
    with sessions() as session:
        rows = session.execute(
            select(Run.id, Run.priority).where(Run.status == "queued").order_by(Run.id)
        ).all()
        return [(run_id, priority) for run_id, priority in rows]


def terminate_overdue(
    sessions: sessionmaker[Session], queue: JobQueue, grace: timedelta, feed: Feed | None = None
) -> list[int]:
    """Runs asked to cancel more than GRACE ago and still running are stopped by
    force, where the backend can, and marked cancelled; FEED hears that they ended."""
    with sessions.begin() as session:
        overdue = session.scalars(
            select(Run)
            .where(
                Run.status == "running",
                Run.cancel_requested.is_(True),
                Run.cancel_requested_at < now() - grace,
            )
            .with_for_update(skip_locked=True)
        ).all()
        stopped = [run for run in overdue if run.job_id and queue.terminate(run.job_id)]
        for run in stopped:
            run.status, run.finished_at = "cancelled", now()
            run.error = "terminated: still running after the cancel grace period"
            runs.order_notice(session, run)
    for run in stopped:
        (feed or Feed(None)).finished(run)
    return [run.id for run in stopped]
