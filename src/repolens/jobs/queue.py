"""The one boundary between "a run should happen" and whatever runs it.

The embedded default is an in-process pool (`backends.local`); the distributed
deployment puts Celery behind the same three methods. Payloads are run ids only:
the database row is the truth."""

from __future__ import annotations

from typing import Protocol

PRIORITY_RANK = {"high": 0, "default": 1, "low": 2}  # the queues of scans
REPORT_QUEUE = "report"  # rendering the slow report formats of a finished run
NOTIFY_QUEUE = "notify"  # telling a project's notify URL that a run ended


QUEUES = (*PRIORITY_RANK, NOTIFY_QUEUE, REPORT_QUEUE)  # every queue a worker may consume

# Periodic work, in seconds between passes: the same in both deployments (beat
# runs it distributed, the embedded runtime's dispatcher thread in one process).
PERIODS = {"reap": 15.0, "dispatch": 5.0, "schedule": 60.0, "clean_up": 3600.0}


class JobQueue(Protocol):
    backend: str

    def enqueue(self, run_id: int, priority: str, job_id: str | None = None) -> str:
        """Hand the run to a worker, high priority first; returns the job id
        (JOB_ID when given, so the run row can name it before it is sent)."""

    def render(self, run_id: int) -> None:
        """Hand the rendering of a finished run's slow report formats to a worker."""

    def notify(self, run_id: int) -> None:
        """Hand the notification that a run ended to a worker."""

    def cancel(self, run_id: int, job_id: str | None) -> bool:
        """Take a queued run back; False when it is not waiting there."""

    def terminate(self, job_id: str) -> bool:
        """Stop a running job by force; False when this backend cannot."""

    def depth(self) -> dict[str, int]:
        """Waiting jobs per queue; QueueUnavailable when the broker cannot be reached."""

    def workers(self) -> dict[str, list[str]]:
        """The workers alive now, each with the queues it consumes; QueueUnavailable
        when the broker cannot be reached."""
