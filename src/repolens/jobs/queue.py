"""The one boundary between "a job should run" and whatever runs it.

The embedded default is an in-process pool (`backends.local`); the distributed
deployment puts Celery behind the same methods. What is sent is a task of the
registry (`tasks`) and its payload: ids only, the database row is the truth."""

from __future__ import annotations

from typing import Any, Protocol

from repolens.jobs.tasks import Task


class JobQueue(Protocol):
    backend: str

    def send(self, task: Task, payload: dict[str, Any]) -> str:
        """Hand TASK to a worker on its queue (a scan's: its priority, high
        first); returns the job id (the payload's `job_id` when it has one, so
        the run row can name it before it is sent)."""

    def cancel(self, run_id: int, job_id: str | None) -> bool:
        """Take a queued run back; False when it is not waiting there."""

    def terminate(self, job_id: str) -> bool:
        """Stop a running job by force; False when this backend cannot."""

    def depth(self) -> dict[str, int]:
        """Waiting jobs per queue; QueueUnavailable when the broker cannot be reached."""

    def workers(self) -> dict[str, list[str]]:
        """The workers alive now, each with the queues it consumes; QueueUnavailable
        when the broker cannot be reached."""
