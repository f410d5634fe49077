"""The transactional outbox: triggers write a message beside the run row; the
dispatcher hands pending messages to the queue and marks them sent. If the
queue is down the message stays pending and goes out on a later pass."""

from __future__ import annotations

import logging

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs.queue import JobQueue
from repolens.realtime.feed import Feed
from repolens.storage import runs
from repolens.storage.models import OutboxMessage, Run, now

log = logging.getLogger(__name__)


def send_on_commit(sessions: sessionmaker[Session], queue: JobQueue, feed: Feed) -> None:
    """From now on, runs a session of SESSIONS announces are published as queued
    and sent the moment the session commits, from memory and in the committing
    thread. What cannot go out then stays pending for the dispatcher."""

    def committed(session: Session) -> None:
        sent = runs.announced(session)
        for run, _ in sent:
            feed.queued(run)  # before the worker can say it started
        try:
            send(sent, sessions, queue)
        except Exception:  # marking failed: the dispatcher sends again, the claim dedupes
            log.exception("sending committed triggers failed")

    def rolled_back(session: Session) -> None:
        session.info.pop(runs.ANNOUNCED, None)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_rollback", rolled_back)


def send(
    announced: list[tuple[Run, OutboxMessage]], sessions: sessionmaker[Session], queue: JobQueue
) -> int:
    """Send committed messages straight away, then mark them. A dispatcher pass
    that picks one between the commit and the mark sends it twice; the run's
    claim makes that harmless."""
    sent: list[int] = []
    for _, message in announced:
        try:
            _enqueue(queue, message)
        except Exception:  # the broker is away: the dispatcher keeps trying
            break
        sent.append(message.id)
    if sent:
        with sessions.begin() as marking:
            marking.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent), OutboxMessage.dispatched_at.is_(None))
                .values(dispatched_at=now(), attempts=OutboxMessage.attempts + 1)
            )
    return len(sent)


def dispatch(sessions: sessionmaker[Session], queue: JobQueue, batch: int = 100) -> int:
    """Send up to BATCH pending messages; returns how many went out."""
    sent = 0
    with sessions.begin() as session:
        pending = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dispatched_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for message in pending:
            try:
                _enqueue(queue, message)
            except Exception as exc:  # the broker is away: keep it for the next pass
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                break
            message.dispatched_at = now()
            message.attempts += 1
            sent += 1
    return sent


def _enqueue(queue: JobQueue, message: OutboxMessage) -> None:
    payload = message.payload
    queue.enqueue(int(payload["run_id"]), str(payload["priority"]), payload.get("job_id"))
