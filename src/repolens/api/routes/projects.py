"""Projects, their refresh trigger, plan, skills and score history."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from repolens.api import schemas
from repolens.api.deps import (
    SIGNED_IN,
    Audit,
    Caller,
    DbSession,
    Jobs,
    Options,
    admit_run,
    allow,
    hold_runs,
    spend,
)
from repolens.jobs import lifecycle
from repolens.security import identity, project_fields
from repolens.security.policy import Action
from repolens.security.quotas import Budget
from repolens.storage import models, projects

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ProjectOut,
    dependencies=allow(Action.CREATE),
)
def create(body: schemas.ProjectIn, session: DbSession, settings: Options, caller: Caller,
           request: Request, audit: Audit) -> models.Project:  # fmt: skip
    """A new project; a user who adds one is its admin."""
    if caller.limited:
        spend(request, Budget.PROJECTS, f"user:{caller.user_id}")
    made = projects.create(session, **project_fields.checked(body.model_dump(), settings))
    if caller.user_id is not None:
        identity.add_member(session, caller.user_id, made.id, models.Role.ADMIN)
    audit("project.create", project_id=made.id, target=made.name)
    return made


@router.get("", response_model=list[schemas.ProjectOut], dependencies=SIGNED_IN)
def list_all(session: DbSession, caller: Caller) -> list[models.Project]:
    """The projects the caller sees."""
    return projects.all(session, caller.visible())


@router.get(
    "/{project_id}",
    response_model=schemas.ProjectOut,
    dependencies=allow(Action.READ, "project_id"),
)
def get(project_id: int, session: DbSession) -> models.Project:
    return projects.get(session, project_id)


@router.patch(
    "/{project_id}",
    response_model=schemas.ProjectOut,
    dependencies=allow(Action.EDIT, "project_id"),
)
def update(
    project_id: int, body: schemas.ProjectPatch, session: DbSession, settings: Options, audit: Audit
) -> models.Project:
    fields = project_fields.checked(body.model_dump(exclude_unset=True), settings)
    changed = projects.update(session, project_id, **fields)
    audit("project.update", project_id=project_id, target=changed.name, fields=sorted(fields))
    return changed


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=allow(Action.MANAGE, "project_id"),
)
def delete(project_id: int, session: DbSession, jobs: Jobs, audit: Audit) -> None:
    """The project goes with its runs; a queued run is taken back from the
    queue, a running one stops at its next heartbeat."""
    audit("project.delete", project_id=project_id, target=projects.get(session, project_id).name)
    for run in projects.delete(session, project_id):
        if run.status == "queued":
            jobs.queue.cancel(run.id, run.job_id)


@router.post("/{project_id}/refresh", status_code=status.HTTP_202_ACCEPTED,
             response_model=schemas.RunOut,
             dependencies=allow(Action.TRIGGER, "project_id"))  # fmt: skip
def refresh(project_id: int, body: schemas.RefreshIn, session: DbSession, caller: Caller,
            request: Request, audit: Audit) -> models.Run:  # fmt: skip
    """A manual scan: queued at high priority, answered at once. While a run of
    the same ref is still queued, that run is the answer. A user has a budget of
    refreshes per project (REPOLENS_RATE_LIMIT_REFRESH), and their tier bounds
    the runs they start an hour and a day, and have going at once."""
    if caller.limited:
        spend(request, Budget.REFRESH, f"user:{caller.user_id}", str(project_id))
    hold_runs(session, caller)
    run, _new = lifecycle.trigger(session, project_id, "manual", body.ref, note=body.reason,
                                  requested_by=caller.name)  # fmt: skip
    if _new:
        admit_run(request, session, caller, run)
    audit("run.trigger", project_id=project_id, target=f"run {run.id}", ref=run.ref, new=_new)
    session.commit()  # sent and announced as it commits
    return run


@router.get(
    "/{project_id}/plan",
    response_model=schemas.PlanOut,
    dependencies=allow(Action.READ, "project_id"),
)
def plan(project_id: int, session: DbSession) -> schemas.PlanOut:
    projects.get(session, project_id)
    snapshot = session.scalar(
        select(models.PlanSnapshot)
        .where(models.PlanSnapshot.project_id == project_id)
        .order_by(models.PlanSnapshot.run_id.desc())
        .limit(1)
    )
    if snapshot is None:
        return schemas.PlanOut(run_id=None, total=0, todo=0, in_progress=0, done=0, blocked=0,
                               percent=0.0, health="unknown", tasks=[])  # fmt: skip
    tasks = session.scalars(
        select(models.PlanTask)
        .where(
            models.PlanTask.project_id == project_id, models.PlanTask.last_run_id == snapshot.run_id
        )
        .order_by(models.PlanTask.file, models.PlanTask.line)
    )
    return schemas.PlanOut(
        run_id=snapshot.run_id, total=snapshot.total, todo=snapshot.todo,
        in_progress=snapshot.in_progress, done=snapshot.done, blocked=snapshot.blocked,
        percent=snapshot.percent, health=snapshot.health,
        tasks=[schemas.PlanTaskOut.model_validate(t) for t in tasks],
    )  # fmt: skip


@router.get(
    "/{project_id}/skills",
    response_model=list[schemas.SkillOut],
    dependencies=allow(Action.READ, "project_id"),
)
def skills(project_id: int, session: DbSession) -> list[models.Skill]:
    latest = _latest_completed(session, project_id)
    if latest is None:
        return []
    query = select(models.Skill).where(models.Skill.run_id == latest.id)
    return list(session.scalars(query.order_by(models.Skill.confidence.desc())))


@router.get(
    "/{project_id}/score-history",
    response_model=list[schemas.ScorePoint],
    dependencies=allow(Action.READ, "project_id"),
)
def score_history(project_id: int, session: DbSession) -> list[schemas.ScorePoint]:
    projects.get(session, project_id)
    completed = session.scalars(
        select(models.Run)
        .where(models.Run.project_id == project_id, models.Run.status == "completed")
        .order_by(models.Run.id)
    )
    return [
        schemas.ScorePoint(
            run_id=run.id,
            finished_at=run.finished_at,
            score=run.summary.get("score", 0),
            grade=run.summary.get("grade", ""),
            findings=run.summary.get("findings", 0),
        )
        for run in completed
    ]


def _latest_completed(session: DbSession, project_id: int) -> models.Run | None:
    projects.get(session, project_id)
    return session.scalar(
        select(models.Run)
        .where(models.Run.project_id == project_id, models.Run.status == "completed")
        .order_by(models.Run.id.desc())
        .limit(1)
    )
