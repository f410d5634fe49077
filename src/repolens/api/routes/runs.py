"""Runs, their steps, log, findings and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import Select, select

from repolens.api import schemas
from repolens.api.deps import SIGNED_IN, Audit, Caller, DbSession, allow
from repolens.errors import NotFoundError
from repolens.jobs import rendering
from repolens.security.policy import Action
from repolens.storage import models, results, runs

router = APIRouter(tags=["runs"])
Out = TypeVar("Out", bound=BaseModel)
RowId = Annotated[int | None, Query(ge=0, le=models.MAX_ID)]
Text = Annotated[str | None, Query(max_length=200)]

MEDIA = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "sarif": "application/sarif+json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def _where_given(query: Select[Any], filters: list[tuple[Any, Any]]) -> Select[Any]:
    """QUERY narrowed by `column == value` for each filter the request gave."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def _page(found: list[Any], limit: int, schema: type[Out]) -> schemas.Page[Out]:
    """LIMIT rows as SCHEMA; one more row fetched than shown tells there is a next page."""
    items = [schema.model_validate(row) for row in found[:limit]]
    more = len(found) > limit
    return schemas.Page(items=items, next_cursor=str(found[limit - 1].id) if more else None)


@router.get("/runs", response_model=schemas.Page[schemas.RunOut], dependencies=SIGNED_IN)
def list_runs(
    session: DbSession,
    caller: Caller,
    project_id: RowId = None,
    status: Text = None,
    trigger: Text = None,
    cursor: Annotated[RowId, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.Page[schemas.RunOut]:
    query = select(models.Run).order_by(models.Run.id.desc()).limit(limit + 1)
    query = _where_given(
        query,
        [(models.Run.project_id, project_id), (models.Run.status, status),
         (models.Run.trigger, trigger)],
    )  # fmt: skip
    if cursor is not None:
        query = query.where(models.Run.id < cursor)
    visible = caller.visible()
    if visible is not None:  # the runs of the projects the caller sees
        query = query.where(models.Run.project_id.in_(visible))
    return _page(list(session.scalars(query)), limit, schemas.RunOut)


@router.get(
    "/runs/{run_id}", response_model=schemas.RunOut, dependencies=allow(Action.READ, "run_id")
)
def get_run(run_id: int, session: DbSession) -> models.Run:
    return runs.get(session, run_id)


@router.get(
    "/runs/{run_id}/steps",
    response_model=list[schemas.StepOut],
    dependencies=allow(Action.READ, "run_id"),
)
def steps(run_id: int, session: DbSession) -> list[models.Step]:
    return runs.get(session, run_id).steps


@router.get(
    "/runs/{run_id}/log",
    response_class=PlainTextResponse,
    dependencies=allow(Action.READ, "run_id"),
)
def log(run_id: int, session: DbSession) -> str:
    run = runs.get(session, run_id)
    lines = [f"run {run.id}: {run.status} ({run.trigger}, {run.ref or '-'})"]
    for step in run.steps:
        lines.append(f"{step.name}: {step.status} in {step.seconds:.2f}s, {step.findings} findings")
        lines += [f"  warning: {warning}" for warning in step.warnings]
        if step.error:
            lines.append(f"  error: {step.error}")
    if run.error:
        lines.append(f"error: {run.error}")
    return "\n".join(lines) + "\n"


@router.get(
    "/runs/{run_id}/findings",
    response_model=schemas.Page[schemas.FindingOut],
    dependencies=allow(Action.READ, "run_id"),
)
def findings(
    run_id: int,
    session: DbSession,
    severity: Text = None,
    category: Text = None,
    analyzer: Text = None,
    state: Text = None,
    role: Annotated[
        str | None, Query(max_length=16, description="source, test, fixture, …")
    ] = None,
    path: Annotated[str | None, Query(description="a path prefix", max_length=2000)] = None,
    cursor: RowId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> schemas.Page[schemas.FindingOut]:
    runs.get(session, run_id)
    query = (
        select(models.Finding)
        .where(models.Finding.run_id == run_id)
        .order_by(models.Finding.id)
        .limit(limit + 1)
    )
    query = _where_given(
        query,
        [(models.Finding.severity, severity), (models.Finding.category, category),
         (models.Finding.analyzer, analyzer), (models.Finding.state, state),
         (models.Finding.role, role)],
    )  # fmt: skip
    if path:
        query = query.where(models.Finding.path.startswith(path, autoescape=True))
    if cursor is not None:
        query = query.where(models.Finding.id > cursor)
    return _page(list(session.scalars(query)), limit, schemas.FindingOut)


@router.patch(
    "/findings/{finding_id}",
    response_model=schemas.FindingOut,
    dependencies=allow(Action.TRIAGE, "finding_id"),
)
def triage(finding_id: int, body: schemas.TriageIn, session: DbSession,
           audit: Audit) -> models.Finding:  # fmt: skip
    finding = session.get(models.Finding, finding_id) if models.could_exist(finding_id) else None
    if finding is None:
        raise NotFoundError(f"finding {finding_id} not found")
    finding.triage = body.triage
    audit("finding.triage", project_id=finding.run.project_id, target=f"finding {finding_id}",
          triage=body.triage)  # fmt: skip
    session.flush()
    results.rescore(session, finding.run)  # a dismissed finding leaves the score
    return finding


@router.get(
    "/runs/{run_id}/reports/{format}",
    responses={200: {"content": {media: {} for media in MEDIA.values()}}},
    dependencies=allow(Action.READ, "run_id"),
)
def report(run_id: int, format: str, session: DbSession) -> FileResponse:
    run = runs.get(session, run_id)
    row = session.scalar(
        select(models.Report).where(models.Report.run_id == run_id, models.Report.format == format)
    )
    if row is None or not Path(row.path).exists():
        if row is None and run.status == "completed" and format in rendering.SLOW_FORMATS:
            raise NotFoundError(f"run {run_id}'s {format} report is not rendered yet")
        raise NotFoundError(f"run {run_id} has no {format} report")
    return FileResponse(row.path, media_type=MEDIA.get(format, "application/octet-stream"),
                        filename=f"repolens-run-{run_id}.{format}")  # fmt: skip
