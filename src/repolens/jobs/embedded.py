"""The embedded job runtime of `repolens serve`: the local queue, the outbox
dispatcher thread, and recovery of what a previous process left behind."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import outbox, pipeline, recovery
from repolens.jobs.backends.local import LocalQueue
from repolens.settings import Settings


class Embedded:
    backend = "local"

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.queue = LocalQueue(self._execute, settings.job_workers)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="repolens-outbox",
                                            daemon=True)  # fmt: skip

    def start(self) -> None:
        recovery.requeue_orphans(self.sessions, stale_after=None)
        self.queue.start()
        for run_id, priority in recovery.waiting(self.sessions):
            self.queue.enqueue(run_id, priority)
        self._dispatcher.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._dispatcher.join(10)
        self.queue.stop()

    def notify(self) -> None:
        """A trigger was committed: dispatch now rather than at the next tick."""
        self._wake.set()

    def _execute(self, run_id: int) -> None:
        pipeline.execute(run_id, self.settings, self.sessions)

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            outbox.dispatch(self.sessions, self.queue)
            self._wake.wait(0.5)
            self._wake.clear()
