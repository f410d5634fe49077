"""The transactional outbox: triggers write a message beside the run row; the
dispatcher hands pending messages to the queue and marks them sent. If the
queue is down the message stays pending and goes out on a later pass."""

from __future__ import annotations

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs.queue import JobQueue
from repolens.storage.models import OutboxMessage, now
from repolens.storage.runs import UNSENT


def send(session: Session, sessions: sessionmaker[Session], queue: JobQueue) -> int:
    """After SESSION committed: send the messages it wrote straight away, from
    what is in memory, then mark them. What cannot go out now stays pending for
    the dispatcher. A dispatcher pass that picks a message between the commit
    and the mark sends it twice; the run's claim makes that harmless."""
    sent: list[int] = []
    for message in session.info.pop(UNSENT, []):
        if not inspect(message).has_identity:  # its transaction was rolled back
            continue
        payload = message.payload
        try:
            queue.enqueue(int(payload["run_id"]), str(payload["priority"]), payload.get("job_id"))
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
            payload = message.payload
            try:
                queue.enqueue(
                    int(payload["run_id"]), str(payload["priority"]), payload.get("job_id")
                )
            except Exception as exc:  # the broker is away: keep it for the next pass
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                break
            message.dispatched_at = now()
            message.attempts += 1
            sent += 1
    return sent
