"""Job management: a run seen as a job, the queue, retry and cancel; health."""

from __future__ import annotations

import statistics
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from repolens.api import schemas
from repolens.api.deps import (
    PUBLIC,
    SIGNED_IN,
    Audit,
    Caller,
    DbSession,
    Jobs,
    admit_run,
    allow,
    hold_runs,
)
from repolens.errors import QueueUnavailable
from repolens.jobs import lifecycle
from repolens.jobs.tasks import QUEUES
from repolens.security.policy import Action
from repolens.storage import models, runs
from repolens.storage.models import TERMINAL, RunStatus, now

router = APIRouter(tags=["jobs"])

RATE_WINDOW = timedelta(minutes=15)  # queue-status's rates are over this long


@router.get("/jobs/queue-status", response_model=schemas.QueueStatus, dependencies=SIGNED_IN)
def queue_status(session: DbSession, jobs: Jobs) -> schemas.QueueStatus:
    """What waits in each queue, the workers alive and what they consume, and
    how many runs went through lately."""
    workers = jobs.queue.workers()
    counts = select(models.Run.status, func.count()).group_by(models.Run.status)
    by_status = {name: count for name, count in session.execute(counts)}
    return schemas.QueueStatus(
        backend=jobs.backend,
        depth=jobs.queue.depth(),
        running=by_status.get("running", 0),
        workers=len(workers),
        consumers=_consumers(workers),
        runs_by_status=by_status,
        rates=_rates(session),
    )


def _consumers(workers: dict[str, list[str]]) -> dict[str, int]:
    return {name: sum(name in consumed for consumed in workers.values()) for name in QUEUES}


def _rates(session: Session) -> schemas.QueueRates:
    counts, waits = runs.activity(session, now() - RATE_WINDOW)
    minutes = RATE_WINDOW.total_seconds() / 60
    return schemas.QueueRates(
        window_seconds=int(RATE_WINDOW.total_seconds()),
        queued=round(counts.get("queued", 0) / minutes, 3),
        started=round(counts.get("started", 0) / minutes, 3),
        completed=round(counts.get("completed", 0) / minutes, 3),
        failed=round(counts.get("failed", 0) / minutes, 3),
        wait_seconds_p50=round(statistics.median(waits), 3) if waits else None,
    )


@router.get(
    "/jobs/{run_id}", response_model=schemas.RunOut, dependencies=allow(Action.READ, "run_id")
)
def job(run_id: int, session: DbSession) -> models.Run:
    return runs.get(session, run_id)


@router.post(
    "/jobs/{run_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.RunOut,
    dependencies=allow(Action.TRIGGER, "run_id"),
)
def retry(run_id: int, session: DbSession, audit: Audit, caller: Caller,
          request: Request) -> models.Run:  # fmt: skip
    """A failed or cancelled run queued again: a run of the caller's, counted
    against their tier as a new one is."""
    hold_runs(session, caller)
    run = runs.get(session, run_id)
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise HTTPException(409, f"run {run_id} is {run.status}; only failed or cancelled runs "
                                 "can be retried")  # fmt: skip
    lifecycle.requeue(session, run, step=None)
    admit_run(request, session, caller, run)
    audit("run.retry", project_id=run.project_id, target=f"run {run_id}")
    session.commit()  # sent and announced as it commits
    return run


@router.delete(
    "/jobs/{run_id}", response_model=schemas.RunOut, dependencies=allow(Action.TRIGGER, "run_id")
)
def cancel(run_id: int, session: DbSession, jobs: Jobs, audit: Audit) -> models.Run:
    """A queued run is taken back at once; a running one stops at its next check."""
    run = runs.get(session, run_id)
    if run.status in TERMINAL:
        raise HTTPException(409, f"run {run_id} is already {run.status}")
    run.cancel_requested, run.cancel_requested_at = True, now()
    audit("run.cancel", project_id=run.project_id, target=f"run {run_id}")
    if run.status == RunStatus.QUEUED:
        lifecycle.cancel(session, run, "cancelled before start", jobs.queue)
    session.commit()  # told as it commits
    return run


@router.get("/health", include_in_schema=True, dependencies=PUBLIC)
def health(session: DbSession) -> dict[str, str]:
    """Whether the server and its database answer: for load balancers and probes,
    so it needs no token and tells nothing else."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@router.get("/health/queue", dependencies=SIGNED_IN)
def health_queue(jobs: Jobs) -> dict[str, object]:
    """200 when the broker answers and every queue has a worker consuming it;
    otherwise a 503 problem saying which part is missing."""
    workers = jobs.queue.workers()
    unserved = [name for name, count in _consumers(workers).items() if count == 0]
    if unserved:
        raise QueueUnavailable(f"no worker consumes the {', '.join(unserved)} queue(s)")
    return {"status": "ok", "backend": jobs.backend, "workers": len(workers),
            "depth": jobs.queue.depth()}  # fmt: skip
