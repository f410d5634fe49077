"""Forge deliveries taken in together: one thread handles whatever has arrived
in one transaction, so a burst of webhooks pays for one commit and one pass of
the send-on-commit hook instead of one each. Nothing waits for company: at low
load a batch is the one delivery there is.

A batch that fails as a whole (a duplicate delivery raced in from another
process, a database error) is handled again one delivery at a time, so one
delivery's trouble is its own."""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import QueueUnavailable
from repolens.forges.events import Event
from repolens.jobs import deliveries
from repolens.jobs.queue import JobQueue
from repolens.settings import Settings

log = logging.getLogger(__name__)

MOST = 50  # deliveries in one transaction


@dataclass
class _Item:
    arrival: deliveries.Arrival
    answer: Future[deliveries.Outcome] = field(default_factory=Future)


class Intake:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 jobs: JobQueue) -> None:  # fmt: skip
        self.sessions, self.settings, self.jobs = sessions, settings, jobs
        self._waiting: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="repolens-intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish what is taken in; what still waits after that is refused."""
        self._waiting.put(None)
        if self._thread.is_alive():
            self._thread.join(10)
        while True:
            try:
                left = self._waiting.get_nowait()
            except queue.Empty:
                return
            if left is not None:
                left.answer.set_exception(QueueUnavailable("the server is stopping"))

    def submit(self, event: Event, delivery_id: str | None,
               only: int | None = None) -> Future[deliveries.Outcome]:  # fmt: skip
        """Hand EVENT in; the future holds what became of it once committed."""
        item = _Item(deliveries.Arrival(event, delivery_id, only))
        self._waiting.put(item)
        return item.answer

    def _run(self) -> None:
        while (item := self._waiting.get()) is not None:
            batch = [item]
            while len(batch) < MOST:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._waiting.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._handle(batch)

    def _handle(self, batch: list[_Item]) -> None:
        try:
            with self.sessions.begin() as session:
                outcomes = deliveries.receive_all(session, [item.arrival for item in batch],
                                                  self.settings, self.jobs)  # fmt: skip
        except Exception as exc:
            if len(batch) > 1:
                for item in batch:  # one at a time: each delivery's trouble is its own
                    self._handle([item])
                return
            self._failed(batch[0], exc)
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            item.answer.set_result(outcome)

    def _failed(self, item: _Item, exc: Exception) -> None:
        """A delivery that failed alone: a duplicate recorded meanwhile by another
        process is answered as one; anything else is the caller's error."""
        if isinstance(exc, IntegrityError):
            with self.sessions() as session:
                arrival = item.arrival
                seen = deliveries.earlier(session, arrival.event, arrival.delivery_id, arrival.only)
            if seen is not None:
                item.answer.set_result(seen)
                return
        item.answer.set_exception(exc)
