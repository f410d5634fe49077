"""The transactional outbox: triggers write a message beside the run row; the
dispatcher hands pending messages to the queue and marks them sent. If the
queue is down the message stays pending and goes out on a later pass."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs.queue import JobQueue
from repolens.storage.models import OutboxMessage, now


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
