"""The periodic work, declared once with its period: beat sends it in the
distributed deployment, the embedded runtime's dispatcher thread runs it in
one process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from repolens.jobs import outbox, recovery, schedule
from repolens.jobs.tasks import Context


@dataclass(frozen=True)
class Periodic:
    """Work done every PERIOD seconds."""

    name: str
    period: float
    body: Callable[[Context], object]


def _reap(context: Context) -> list[int]:
    """Runs whose heartbeat went quiet go back to the queue (or fail, past the
    attempt cap); runs that ignored a cancel past the grace are stopped."""
    settings = context.settings
    requeued = recovery.requeue_orphans(
        context.sessions, timedelta(seconds=settings.heartbeat_stale_seconds),
        max_attempts=settings.job_max_attempts, feed=context.feed,
    )  # fmt: skip
    grace = timedelta(seconds=settings.cancel_grace_seconds)
    recovery.terminate_overdue(context.sessions, context.queue, grace, context.feed)
    _dispatch(context)
    return requeued


def _dispatch(context: Context) -> int:
    return outbox.dispatch(context.sessions, context.queue, feed=context.feed)


def _rescan(context: Context) -> list[int]:
    created = schedule.trigger_due(
        context.sessions, min_interval_seconds=context.settings.schedule_min_interval_seconds
    )
    _dispatch(context)
    return created


def _clean_up(context: Context) -> list[int]:
    settings = context.settings
    return schedule.clean_up(context.sessions, settings.data_dir, settings.keep_runs_days)


REAP = Periodic("repolens.reap", 15.0, _reap)
DISPATCH = Periodic("repolens.dispatch", 5.0, _dispatch)  # the embedded runtime: every tick
SCHEDULE = Periodic("repolens.schedule", 60.0, _rescan)
CLEAN_UP = Periodic("repolens.clean_up", 3600.0, _clean_up)

PERIODIC = (REAP, DISPATCH, SCHEDULE, CLEAN_UP)
