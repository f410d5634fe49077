"""The job runtime inside the API process: the outbox dispatcher thread, and,
in the embedded deployment, the local queue's workers and the recovery of what
a previous process left behind."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import DeliveryFailed
from repolens.git.scratch import Scratch
from repolens.jobs import notifying, outbox, pipeline, recovery, rendering, schedule
from repolens.jobs.backends.local import LocalQueue
from repolens.jobs.queue import PERIODS, JobQueue
from repolens.realtime.feed import Feed
from repolens.settings import Settings

log = logging.getLogger(__name__)


class Embedded:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], feed: Feed | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.feed = feed or Feed(None)
        self.queue: JobQueue = self._queue()
        self.marker = outbox.send_on_commit(sessions, self.queue, self.feed)
        self._attempts: dict[int, int] = {}  # notices waiting for their next try
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="repolens-outbox",
                                            daemon=True)  # fmt: skip

    @property
    def backend(self) -> str:
        return self.queue.backend

    def _queue(self) -> JobQueue:
        if self.settings.broker_url:
            from repolens.jobs.backends import celery

            return celery.CeleryQueue(celery.create(self.settings))
        return LocalQueue(self._execute, self.settings.job_workers, self._render, self._notify)

    def start(self) -> None:
        if isinstance(self.queue, LocalQueue):
            # This process was the only one to check out: what is left is a dead one's.
            Scratch(self.settings.checkouts_dir).sweep()
            # This process was the only worker: whatever it left running is orphaned.
            recovery.requeue_orphans(
                self.sessions,
                stale_after=None,
                max_attempts=self.settings.job_max_attempts,
                feed=self.feed,
            )
            self.queue.start()
            for run_id, priority in recovery.waiting(self.sessions):
                self.queue.enqueue(run_id, priority)
        self._dispatcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._dispatcher.join(10)
        self.marker.close()
        if isinstance(self.queue, LocalQueue):
            self.queue.stop()

    def _execute(self, run_id: int) -> None:
        pipeline.execute(run_id, self.settings, self.sessions, feed=self.feed)

    def _render(self, run_id: int) -> None:
        rendering.render(run_id, self.settings, self.sessions)

    def _notify(self, run_id: int) -> None:
        """One delivery; a transient failure is tried again later by a timer that
        puts it back in the queue, so no job slot waits through the backoff."""
        attempt = self._attempts.pop(run_id, 0)
        try:
            notifying.deliver(run_id, self.settings, self.sessions)
        except DeliveryFailed as exc:
            if attempt + 1 >= notifying.ATTEMPTS:
                log.warning("%s; given up after %s attempts", exc, attempt + 1)
                return
            pause = notifying.backoff(self.settings, attempt)
            log.info("%s; again in %.1fs", exc, pause)
            retry = threading.Timer(pause, self._retry_notify, (run_id, attempt + 1))
            retry.daemon = True
            retry.start()

    def _retry_notify(self, run_id: int, attempt: int) -> None:
        if not self._stopping.is_set():
            self._attempts[run_id] = attempt
            self.queue.notify(run_id)

    def _dispatch(self) -> None:
        last: dict[str, float] = {}
        while not self._stopping.is_set():
            self.tick(last)
            self._wake.wait(0.5)
            self._wake.clear()

    def tick(self, last: dict[str, float]) -> None:
        """One pass of the dispatcher: the periodic work that is due (by LAST,
        when each ran), then the outbox."""
        periodic = {"reap": self._reap, "schedule": self._rescans, "clean_up": self._clean_up}
        for name, work in periodic.items():
            if time.monotonic() - last.get(name, float("-inf")) >= PERIODS[name]:
                last[name] = time.monotonic()
                self._safely(work)
        self._safely(lambda: outbox.dispatch(self.sessions, self.queue, feed=self.feed))

    def _reap(self) -> None:
        """As beat's reaper: runs whose heartbeat went quiet go back to the queue
        (or fail, past the attempt cap)."""
        recovery.requeue_orphans(
            self.sessions,
            timedelta(seconds=self.settings.heartbeat_stale_seconds),
            max_attempts=self.settings.job_max_attempts,
            feed=self.feed,
        )

    def _rescans(self) -> None:
        schedule.trigger_due(
            self.sessions, min_interval_seconds=self.settings.schedule_min_interval_seconds
        )

    def _clean_up(self) -> None:
        schedule.clean_up(self.sessions, self.settings.data_dir, self.settings.keep_runs_days)

    @staticmethod
    def _safely(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # the database is away: say so, and try at the next tick
            log.exception("periodic job work failed")
