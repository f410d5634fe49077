"""Job management: a run seen as a job, the queue, retry and cancel; health."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select, text

from repolens.api import schemas
from repolens.api.deps import DbSession, Jobs
from repolens.storage import models, runs
from repolens.storage.models import now

router = APIRouter(tags=["jobs"])


@router.get("/jobs/queue-status", response_model=schemas.QueueStatus)
def queue_status(session: DbSession, jobs: Jobs) -> schemas.QueueStatus:
    counts = session.execute(select(models.Run.status, func.count()).group_by(models.Run.status))
    return schemas.QueueStatus(
        backend=jobs.backend,
        depth=jobs.queue.depth(),
        running=len(jobs.queue.running),
        workers=jobs.settings.job_workers if jobs.backend == "local" else 0,
        runs_by_status={name: count for name, count in counts},
    )


@router.get("/jobs/{run_id}", response_model=schemas.RunOut)
def job(run_id: int, session: DbSession) -> models.Run:
    return runs.get(session, run_id)


@router.post("/jobs/{run_id}/retry", status_code=status.HTTP_202_ACCEPTED,
             response_model=schemas.RunOut)  # fmt: skip
def retry(run_id: int, session: DbSession) -> models.Run:
    run = runs.get(session, run_id)
    if run.status not in ("failed", "cancelled"):
        raise HTTPException(409, f"run {run_id} is {run.status}; only failed or cancelled runs "
                                 "can be retried")  # fmt: skip
    run.status, run.error, run.finished_at, run.cancel_requested = "queued", None, None, False
    run.progress, run.current_step = 0, None
    runs.announce(session, run)
    session.commit()  # sent and announced as it commits
    return run


@router.delete("/jobs/{run_id}", response_model=schemas.RunOut)
def cancel(run_id: int, session: DbSession, jobs: Jobs) -> models.Run:
    """A queued run is taken back at once; a running one stops at its next check."""
    run = runs.get(session, run_id)
    if run.status in runs.TERMINAL:
        raise HTTPException(409, f"run {run_id} is already {run.status}")
    run.cancel_requested, run.cancel_requested_at = True, now()
    if run.status == "queued":
        jobs.queue.cancel(run.id, run.job_id)
        run.status, run.finished_at, run.error = "cancelled", now(), "cancelled before start"
        session.commit()
        jobs.feed.finished(run)
    return run


@router.get("/health", include_in_schema=True)
def health(session: DbSession) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@router.get("/health/queue")
def health_queue(jobs: Jobs) -> dict[str, object]:
    return {"status": "ok", "backend": jobs.backend, "depth": jobs.queue.depth()}
