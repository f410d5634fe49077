"""Every kind of job, declared once: its name, its body, its queue and how it
is retried. Celery registers its tasks from this table, the embedded runtime
runs from it, and the outbox stores a task's name (the periodic work has its
own table, `periodic`). Adding a kind of job is a `Task` here and its
function.

A body takes the `Context` of the worker that runs it and the message's
payload (ids only: the database row is the truth)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from repolens import scan
from repolens.errors import DeliveryFailed, InputError
from repolens.jobs import feedback, notifying, pipeline, rendering
from repolens.realtime.feed import Feed
from repolens.reports.model import Report
from repolens.settings import Settings
from repolens.storage import runs

if TYPE_CHECKING:
    from repolens.jobs.queue import JobQueue

PRIORITIES = runs.PRIORITIES  # a run's priority names its scan's queue; consumed in this order


@dataclass(frozen=True)
class Retry:
    """Try again on ON, up to ATTEMPTS tries in all, after FIRST seconds,
    doubling up to CEILING, with jitter (each pause is 50–100 % of its step)."""

    on: tuple[type[BaseException], ...]
    attempts: int = 9
    first: float = 2.0
    ceiling: float = 300.0

    def pause(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait after try ATTEMPT (0 is the first) failed with ERROR:
        as long as ERROR says (`retry_after`: a forge's rate limit), else backoff."""
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, int | float) and asked > 0:
            return float(asked)
        return float(min(self.ceiling, self.first * 2**attempt) * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Context:
    """What a job's body may use: built once per worker from one Settings."""

    settings: Settings
    sessions: sessionmaker[Session]
    queue: JobQueue
    feed: Feed = field(default_factory=lambda: Feed(None))
    worker: str = "local"
    scanner: Callable[..., Report] = scan.run


@dataclass(frozen=True)
class Task:
    """A kind of job. QUEUE None: the payload's `priority` names it (scans).
    An EXCLUSIVE task runs once at a time per run: sent again while it waits
    or runs, it is not queued twice."""

    name: str
    body: Callable[[Context, dict[str, Any]], object]
    queue: str | None
    retry: Callable[[Settings], Retry]
    exclusive: bool = False

    def queue_for(self, payload: dict[str, Any]) -> str:
        queue = self.queue or str(payload.get("priority", "default"))
        if queue not in QUEUES:
            raise InputError(f"no queue {queue!r} for {self.name}")
        return queue


def _scan(context: Context, payload: dict[str, Any]) -> str:
    return pipeline.execute(int(payload["run_id"]), context.settings, context.sessions,
                            worker=context.worker, scanner=context.scanner,
                            feed=context.feed)  # fmt: skip


def _render(context: Context, payload: dict[str, Any]) -> list[str]:
    return rendering.render(int(payload["run_id"]), context.settings, context.sessions)


def _notify(context: Context, payload: dict[str, Any]) -> int | None:
    return notifying.deliver(int(payload["run_id"]), context.settings, context.sessions)


def _feedback(context: Context, payload: dict[str, Any]) -> str:
    return feedback.publish(int(payload["run_id"]), context.settings, context.sessions,
                            stage=payload.get("stage"))  # fmt: skip


def _database(settings: Settings) -> Retry:
    """The database was away for a moment."""
    return Retry(on=(OperationalError,))


def _delivery(settings: Settings) -> Retry:
    """The receiver or the way to it was away for a moment."""
    return Retry(on=(DeliveryFailed, OperationalError), first=settings.notify_retry_seconds,
                 ceiling=600.0)  # fmt: skip


SCAN = Task("repolens.scan", _scan, None, _database, exclusive=True)
REPORT = Task("repolens.report", _render, "report", _database)  # the slow formats (PDF)
NOTIFY = Task("repolens.notify", _notify, "notify", _delivery)  # a run ended: tell its URL
# A forge's run started or ended: a check run, a status, the pull request's comment.
FEEDBACK = Task("repolens.feedback", _feedback, "notify", _delivery)

TASKS = {task.name: task for task in (SCAN, NOTIFY, FEEDBACK, REPORT)}  # queues in this order
QUEUES = (*PRIORITIES, *dict.fromkeys(t.queue for t in TASKS.values() if t.queue))


def named(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise InputError(f"no task named {name!r}") from None
