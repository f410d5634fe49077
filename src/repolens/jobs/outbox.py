"""The transactional outbox: triggers write a message beside the run row; the
dispatcher hands pending messages to the queue and marks them sent. If the
queue is down the message stays pending and goes out on a later pass.

A process that sends its own messages as they commit (`send_on_commit`, from a
thread of its own) writes them with a lease (`send_after`): the dispatcher
leaves them alone until then, so a pass between the commit and the mark does
not send them a second time.
If that process dies before sending, the dispatcher sends them when the lease
runs out; if the send fails, the lease is given up at once."""

from __future__ import annotations

import logging
import threading
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


def send_on_commit(sessions: sessionmaker[Session], queue: JobQueue, feed: Feed) -> Sender:
    """From now on, what a session of SESSIONS committed is told to FEED (the
    lifecycle's events, in the committing thread, before anything is sent) and
    its outbox messages are handed to the returned Sender, which sends them at
    once from a thread of its own. What cannot go out then is left to the
    dispatcher."""
    sessions.configure(info={**sessions.kw.get("info", {}), runs.SENDS_WITHIN: LEASE_SECONDS})
    sender = Sender(sessions, queue)

    def committed(session: Session) -> None:
        lifecycle.publish(session, feed)  # `run.queued` before the worker can say it started
        sender.add(runs.announced(session))

    def rolled_back(session: Session) -> None:
        session.info.pop(runs.ANNOUNCED, None)
        lifecycle.forget(session)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_rollback", rolled_back)
    return sender


class Sender:
    """Sends committed messages, in the order they were committed, from a thread
    of its own: whoever committed goes on at once (a webhook's answer does not
    wait for the broker, and a batch of deliveries is written while the last
    one's messages go out). It marks them sent a moment later, many in one
    UPDATE. The lease keeps the dispatcher off them meanwhile; a process that
    dies before sending or marking costs a send when the lease runs out, which
    the run's claim makes harmless. What cannot be sent is handed to the
    dispatcher at once, with the error."""

    def __init__(self, sessions: sessionmaker[Session], queue: JobQueue,
                 linger: float = 0.1) -> None:  # fmt: skip
        self.sessions, self.queue, self.linger = sessions, queue, linger
        self._pending: list[runs.Announcement] = []
        self._sending = False
        self._marks: list[int] = []
        self._changed = threading.Condition()
        self._marking = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, announced: list[runs.Announcement]) -> None:
        if not announced:
            return
        with self._changed:
            self._pending.extend(announced)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="repolens-outbox-sender",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._changed.notify_all()

    def drain(self, seconds: float = 30.0) -> None:
        """Wait until what was handed in has gone out (or gone to the dispatcher),
        then write the marks."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending and not self._sending, seconds)
        self.flush()

    def flush(self) -> None:
        """Write the marks of what went out, now."""
        with self._marking:
            taken, self._marks = self._marks, []
            if taken:
                with self.sessions.begin() as session:
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(taken), OutboxMessage.dispatched_at.is_(None))
                        .values(dispatched_at=now(), attempts=OutboxMessage.attempts + 1)
                    )

    def close(self) -> None:
        """Send and mark what is left as the process stops. If the database is
        away, those messages go out a second time when their lease runs out."""
        try:
            self.drain(10)
        except Exception:
            log.exception("marking sent outbox messages at shutdown failed")

    def _run(self) -> None:
        while True:
            with self._changed:
                # Marks wait a moment for company; with none to write, wait for work.
                linger = self.linger if self._marks else None
                self._changed.wait_for(lambda: bool(self._pending), linger)
                taken, self._pending = self._pending, []
                self._sending = bool(taken)
            try:
                if taken:
                    sent = send(taken, self.sessions, self.queue)
                    with self._marking:
                        self._marks += sent
                if not taken or len(self._marks) >= MARKS_AT_ONCE:
                    self.flush()
            except Exception:  # the database is away: their leases run out instead
                log.exception("sending or marking committed outbox messages failed")
            finally:
                with self._changed:
                    self._sending = False
                    self._changed.notify_all()


MARKS_AT_ONCE = 500  # under steady load, marks are written at least this often


def send(announced: list[runs.Announcement], sessions: sessionmaker[Session],
         queue: JobQueue) -> list[int]:  # fmt: skip
    """Send committed messages straight away; returns the ids of those sent. What
    could not be sent is handed to the dispatcher at once, with the error."""
    sent: list[int] = []
    failure: Exception | None = None
    for announcement in announced:
        try:
            _enqueue(queue, announcement.topic, announcement.payload)
        except Exception as exc:  # the broker is away: the dispatcher keeps trying
            failure = exc
            break
        sent.append(announcement.message_id)
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
    return sent


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
