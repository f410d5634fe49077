"""Celery behind the JobQueue boundary: the distributed deployment.

Every task of the registry (`tasks`) on its queue: scans on `high`, `default`
and `low`, consumed in that order; notifications that a run ended on `notify`;
the slow report formats of finished runs on `report`. Payloads are ids; late
acknowledgement so a message outlives a worker that dies holding it; soft and
hard time limits; transient database errors retried with exponential backoff
and jitter. A redelivered or duplicated message is harmless: the run is claimed
by a conditional update, so it runs once, and a report is rendered once. Beat
runs the reaper (runs whose heartbeat stopped go back to the queue) and an
outbox pass."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from celery import Celery, signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from kombu.entity import Queue
from kombu.exceptions import KombuError

from repolens import scan as scan_engine
from repolens.errors import OverTimeLimit, QueueUnavailable
from repolens.git.scratch import Scratch
from repolens.jobs import outbox, pipeline
from repolens.jobs.periodic import PERIODIC, Periodic
from repolens.jobs.tasks import QUEUES, SCAN, TASKS, Context, Retry, Task
from repolens.realtime import hub
from repolens.realtime.feed import Feed
from repolens.reports.model import Report
from repolens.settings import Settings
from repolens.storage import db

# How long live workers are given to say which queues they consume. Not less: kombu's
# Redis transport waits for replies in 1 s BRPOPs, and a shorter wait leaves one in
# flight that swallows the next call's reply (every other call then sees no worker).
REPLY_SECONDS = 1.0

log = logging.getLogger(__name__)


class CeleryQueue:
    backend = "celery"

    def __init__(self, app: Celery) -> None:
        self.app = app

    def send(self, task: Task, payload: dict[str, Any]) -> str:
        sent = self.app.send_task(task.name, kwargs=payload, queue=task.queue_for(payload),
                                  task_id=payload.get("job_id"))  # fmt: skip
        return str(sent.id)

    def cancel(self, run_id: int, job_id: str | None) -> bool:
        if job_id is None:
            return False
        self.app.control.revoke(job_id)
        return True

    def terminate(self, job_id: str) -> bool:
        self.app.control.revoke(job_id, terminate=True, signal="SIGTERM")
        return True

    def depth(self) -> dict[str, int]:
        """Messages waiting per queue. Declaring (as the workers do) rather than
        asking passively: a queue nobody has used yet exists, empty."""
        with _reaching(self.app), self.app.connection_for_read() as connection:
            channel = connection.default_channel
            return {
                name: int(Queue(name, channel=channel).queue_declare().message_count)
                for name in QUEUES
            }

    def workers(self) -> dict[str, list[str]]:
        with _reaching(self.app):
            inspect = self.app.control.inspect(timeout=REPLY_SECONDS)
            replies = inspect.active_queues() or {}
        return {name: sorted(queue["name"] for queue in queues)
                for name, queues in replies.items()}  # fmt: skip


@contextlib.contextmanager
def _reaching(app: Celery) -> Iterator[None]:
    """Turn the broker being away into QueueUnavailable, naming it without credentials."""
    try:
        yield
    except (KombuError, OSError) as exc:
        where = urlsplit(str(app.conf.broker_url))  # named without its credentials
        named = f"{where.scheme}://{where.hostname}{f':{where.port}' if where.port else ''}"
        raise QueueUnavailable(
            f"the broker at {named}{where.path} cannot be reached: {exc}"
        ) from exc


# Beat sends the periodic work on its period (`periodic`: the same table the
# embedded runtime runs from).
BEAT_SCHEDULE = {work.name: {"task": work.name, "schedule": work.period} for work in PERIODIC}


def create(settings: Settings, scanner: Callable[..., Report] | None = None) -> Celery:
    """The Celery application, built from Settings (nothing at import time).
    SCANNER replaces the scan itself (the jobs benchmark measures the rest)."""
    app = Celery("repolens", broker=settings.broker, set_as_current=False)
    app.conf.update(configuration(settings))
    _register_tasks(app, settings, scanner or scan_engine.run)
    return app


def configuration(settings: Settings) -> dict[str, Any]:
    return {
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": "default",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        # The scan stops itself at the soft limit and stores what it has; Celery's own
        # soft limit is the backstop, the hard limit kills the process.
        "task_soft_time_limit": backstop(settings),
        "task_time_limit": settings.job_time_limit_seconds,
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        # A publish that cannot reach the broker fails fast: the outbox keeps the message.
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0,
                                      "interval_step": 0.5, "interval_max": 1},
        "broker_connection_timeout": 2,
        "broker_transport_options": _transport_options(settings),
        # Workers tell monitors (Flower) of their tasks. A `task-sent` event per message
        # is not sent: it would double the broker's work on every trigger, and the run's
        # own events already say it was queued.
        "worker_send_task_events": True,
        "beat_schedule": BEAT_SCHEDULE,
    }  # fmt: skip


def backstop(settings: Settings) -> float:
    """Celery's soft limit: a minute after the scan's own, or halfway to the hard
    limit when that is nearer. Celery arms the hard limit only once the soft one
    has fired, so this must not lie beyond it."""
    soft, hard = settings.job_soft_time_limit_seconds, settings.job_time_limit_seconds
    return min(soft + 60.0, (soft + hard) / 2)


def _transport_options(settings: Settings) -> dict[str, Any]:
    """Redis: a message held by a worker that died before claiming its run comes back
    after the visibility timeout, looked for a few times per timeout."""
    timeout = settings.broker_visibility_timeout_seconds
    return {
        "queue_order_strategy": "priority",
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, timeout // 5)),
        "unacked_restore_throttle": 1,
    }


def _within_limit(scanner: Callable[..., Report], settings: Settings) -> Callable[..., Report]:
    """The scan stops itself at its soft limit; Celery's (the backstop) is for a
    scan that did not."""

    def scan(*args: Any, **kwargs: Any) -> Report:
        try:
            return scanner(*args, **kwargs)
        except SoftTimeLimitExceeded:
            raise OverTimeLimit(f"still running {backstop(settings):g} s after it started; "
                                "stopped") from None  # fmt: skip

    return scan


def _hard_limit(settings: Settings, feed: Callable[[], Feed]) -> Callable[..., None]:
    """Celery kills a scan at the hard limit and acknowledges its message: the run
    fails now, from the worker's main process, rather than being started again by
    the reaper only to be killed again."""

    def failed(sender: Any, exception: BaseException | None = None, args: Any = (),
               kwargs: Any = None, **_: Any) -> None:  # fmt: skip
        kwargs = kwargs or {}
        scanning = getattr(sender, "name", None) == SCAN.name
        if not scanning or not isinstance(exception, TimeLimitExceeded):
            return
        engine = db.engine(settings)  # its own: pool processes forked later must not share it
        try:
            error = f"stopped at the hard time limit ({settings.job_time_limit_seconds} s)"
            run_id = int(kwargs.get("run_id", args[0] if args else 0))
            pipeline.fail_running(db.sessions(engine), run_id, error, feed())
        finally:
            engine.dispose()

    return failed


def _register_tasks(app: Celery, settings: Settings, scanner: Callable[..., Report]) -> None:
    """Every task of the registry and every periodic work, each with its retry
    policy; a worker builds its context (database, feed) on first use."""

    @functools.cache
    def context() -> Context:
        if not settings.events:
            log.warning("REPOLENS_EVENTS_URL is not set: this worker's live events reach no one")
        feed = Feed(hub.create(settings))
        sessions = db.sessions(db.engine(settings))
        sender = outbox.send_on_commit(sessions, CeleryQueue(app), feed)
        # A pool process (or a solo worker) that stops writes its marks first.
        for stopping in (signals.worker_process_shutdown, signals.worker_shutdown):
            stopping.connect(lambda **_: sender.close(), weak=False)
        return Context(settings, sessions, CeleryQueue(app), feed,
                       scanner=_within_limit(scanner, settings))  # fmt: skip

    for task in TASKS.values():
        _register(app, task, task.retry(settings), context)
    for work in PERIODIC:
        _register_periodic(app, work, context)
    signals.task_failure.connect(_hard_limit(settings, lambda: context().feed), weak=False)
    # What a killed worker left in the scratch directory goes as a worker starts.
    signals.worker_ready.connect(lambda **_: Scratch(settings.checkouts_dir).sweep(), weak=False)


def _register(app: Celery, task: Task, retry: Retry, context: Callable[[], Context]) -> None:
    def run(job: Any, **payload: Any) -> object:
        worker = job.request.hostname or "?"
        try:
            return task.body(replace(context(), worker=worker), payload)
        except retry.on as exc:
            asked = getattr(exc, "retry_after", None)
            if asked is None:
                raise  # Celery's own backoff, with jitter
            raise job.retry(exc=exc, countdown=asked) from None

    app.task(name=task.name, shared=False, bind=True, autoretry_for=retry.on,
             retry_backoff=max(1, round(retry.first)), retry_backoff_max=round(retry.ceiling),
             retry_jitter=True, max_retries=retry.attempts - 1)(run)  # fmt: skip


def _register_periodic(app: Celery, work: Periodic, context: Callable[[], Context]) -> None:
    def run() -> object:
        return work.body(context())

    app.task(name=work.name, shared=False)(run)
