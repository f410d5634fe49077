"""The transactional outbox: triggers write a message beside the run row; the
dispatcher hands pending messages to the queue and marks them sent. If the
queue is down the message stays pending and goes out on a later pass.

A process that sends its own messages as they commit (`send_on_commit`) writes
them with a lease (`send_after`): the dispatcher leaves them alone until then,
so a pass between the commit and the mark does not send them a second time.
If that process dies before sending, the dispatcher sends them when the lease
runs out; if the send fails, the lease is given up at once."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, tasks
from repolens.jobs.queue import JobQueue
from repolens.realtime.feed import Feed
from repolens.storage import runs
from repolens.storage.models import OutboxMessage, now

log = logging.getLogger(__name__)

LEASE_SECONDS = 30  # longer than a send can take, retries included


def send_on_commit(sessions: sessionmaker[Session], queue: JobQueue, feed: Feed) -> Marker:
    """From now on, what a session of SESSIONS committed is told to FEED (the
    lifecycle's events) and its outbox messages are sent, from memory and in
    the committing thread; they are marked sent a moment later, by the returned
    Marker. What cannot go out then is left to the dispatcher."""
    sessions.configure(info={**sessions.kw.get("info", {}), runs.SENDS_WITHIN: LEASE_SECONDS})
    marker = Marker(sessions)

    def committed(session: Session) -> None:
        lifecycle.publish(session, feed)  # `run.queued` before the worker can say it started
        try:
            send(runs.announced(session), sessions, queue, marker)
        except Exception:  # the lease runs out and the dispatcher sends; the claim dedupes
            log.exception("sending committed triggers failed")

    def rolled_back(session: Session) -> None:
        session.info.pop(runs.ANNOUNCED, None)
        lifecycle.forget(session)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_rollback", rolled_back)
    return marker


class Marker:
    """Marks sent messages dispatched in batches, from a thread of its own, a
    moment after they went out: off the trigger's path (where it would compete
    with the worker starting the run), and one UPDATE for many under load. The
    lease keeps the dispatcher off them meanwhile; a process that dies with
    marks unwritten costs a second send when the lease runs out, which the
    run's claim makes harmless."""

    def __init__(self, sessions: sessionmaker[Session], linger: float = 0.1) -> None:
        self.sessions, self.linger = sessions, linger
        self._ids: list[int] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, message_ids: list[int]) -> None:
        with self._lock:
            self._ids.extend(message_ids)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="repolens-outbox-marks",
                                                daemon=True)  # fmt: skip
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Write the marks now (at shutdown)."""
        with self._lock:
            taken, self._ids = self._ids, []
        if taken:
            with self.sessions.begin() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(taken), OutboxMessage.dispatched_at.is_(None))
                    .values(dispatched_at=now(), attempts=OutboxMessage.attempts + 1)
                )

    def close(self) -> None:
        """Write what is left as the process stops. If the database is away, those
        messages go out a second time when their lease runs out."""
        try:
            self.flush()
        except Exception:
            log.exception("marking sent outbox messages at shutdown failed")

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.linger)  # gather what goes out meanwhile
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: their leases run out instead
                log.exception("marking sent outbox messages failed")


def send(
    announced: list[runs.Announcement],
    sessions: sessionmaker[Session],
    queue: JobQueue,
    marker: Marker,
) -> int:
    """Send committed messages straight away and hand them to MARKER; what could
    not be sent is handed to the dispatcher at once, with the error."""
    sent: list[int] = []
    failure: Exception | None = None
    for announcement in announced:
        try:
            _enqueue(queue, announcement.topic, announcement.payload)
        except Exception as exc:  # the broker is away: the dispatcher keeps trying
            failure = exc
            break
        sent.append(announcement.message_id)
    if sent:
        marker.add(sent)
    unsent = [announcement.message_id for announcement in announced[len(sent) :]]
    if unsent:
        with sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(unsent), OutboxMessage.dispatched_at.is_(None))
                .values(
                    send_after=None, attempts=OutboxMessage.attempts + 1, last_error=_error(failure)
                )
            )
    return len(sent)


def dispatch(
    sessions: sessionmaker[Session],
    queue: JobQueue,
    batch: int = 100,
    at: datetime | None = None,
    feed: Feed | None = None,
) -> int:
    """Send up to BATCH pending messages whose lease, if any, has run out (AT,
    default now); returns how many went out. A queued run whose writer had no
    way to tell live clients (no lease: the command line, another process) is
    announced to FEED as it goes out."""
    sent, moment = 0, at or now()
    unannounced: list[int] = []
    due = or_(OutboxMessage.send_after.is_(None), OutboxMessage.send_after <= moment)
    with sessions.begin() as session:
        pending = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dispatched_at.is_(None), due)
            .order_by(OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for message in pending:
            try:
                _enqueue(queue, message.topic, message.payload)
            except Exception as exc:  # the broker is away: keep it for the next pass
                message.attempts += 1
                message.last_error = _error(exc)
                break
            message.dispatched_at = now()
            message.attempts += 1
            sent += 1
            if message.topic == tasks.SCAN.name and message.send_after is None:
                unannounced.append(int(message.payload["run_id"]))
    if feed is not None and unannounced:
        with sessions() as session:
            for run_id in unannounced:
                run = runs.find(session, run_id)
                if run is not None:
                    feed.queued(run)
    return sent


def _error(exc: Exception | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _enqueue(queue: JobQueue, topic: str, payload: dict[str, Any]) -> None:
    queue.send(tasks.named(topic), payload)
