"""The job runtime of the API process, built in both deployments: the queue
it sends to, sending what its sessions commit, and the dispatcher thread that
sends what is left in the outbox. In the embedded deployment (no broker) it
also runs the jobs, on the local queue's threads, does the periodic work and,
on start, recovers what a previous process left behind."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from repolens.git.scratch import Scratch
from repolens.jobs import outbox, periodic, recovery
from repolens.jobs.backends.local import LocalQueue
from repolens.jobs.queue import JobQueue
from repolens.jobs.tasks import SCAN, Context, Task
from repolens.realtime.feed import Feed
from repolens.settings import Settings

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5  # the dispatcher's pass; a commit that sends nothing wakes it sooner


class JobRuntime:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], feed: Feed | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.feed = feed or Feed(None)
        self.queue: JobQueue = self._queue()
        self.sender = outbox.send_on_commit(sessions, self.queue, self.feed)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="repolens-outbox",
                                            daemon=True)  # fmt: skip

    @property
    def backend(self) -> str:
        return self.queue.backend

    @property
    def embedded(self) -> bool:
        """Whether this process runs the jobs itself (no broker)."""
        return not self.settings.broker_url

    @property
    def context(self) -> Context:
        return Context(self.settings, self.sessions, self.queue, self.feed)

    def _queue(self) -> JobQueue:
        if self.settings.broker_url:
            from repolens.jobs.backends import celery

            return celery.CeleryQueue(celery.create(self.settings))
        return LocalQueue(self._run, self.settings.job_workers,
                          lambda task: task.retry(self.settings))  # fmt: skip

    def _run(self, task: Task, payload: dict[str, Any]) -> object:
        return task.body(self.context, payload)

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
                self.queue.send(SCAN, {"run_id": run_id, "priority": priority})
        self._dispatcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._dispatcher.join(10)
        self.sender.close()
        if isinstance(self.queue, LocalQueue):
            self.queue.stop()

    def _dispatch(self) -> None:
        last: dict[str, float] = {}
        while not self._stopping.is_set():
            self.tick(last)
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()

    def tick(self, last: dict[str, float]) -> None:
        """One pass of the dispatcher: in the embedded deployment the periodic
        work that is due (by LAST, when each ran); then the outbox."""
        for work in periodic.PERIODIC if self.embedded else ():
            if work is periodic.DISPATCH:
                continue  # every tick, below
            if time.monotonic() - last.get(work.name, float("-inf")) >= work.period:
                last[work.name] = time.monotonic()
                self._safely(work)
        self._safely(periodic.DISPATCH)

    def _safely(self, work: periodic.Periodic) -> None:
        try:
            work.body(self.context)
        except Exception:  # the database is away: say so, and try at the next tick
            log.exception("%s failed", work.name)
