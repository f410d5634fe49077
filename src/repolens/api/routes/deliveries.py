"""Forge deliveries as recorded: listed, read, and replayed."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
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
)
from repolens.api.routes.runs import Text
from repolens.errors import NotFoundError
from repolens.jobs import deliveries
from repolens.security.policy import Action
from repolens.storage.models import Delivery, Run, could_exist

router = APIRouter(prefix="/deliveries", tags=["webhooks"])


@router.get("", response_model=list[schemas.DeliveryOut], dependencies=SIGNED_IN)
def list_all(
    session: DbSession,
    caller: Caller,
    project_id: int | None = None,
    forge: schemas.ForgeName | None = None,
    status: Text = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[Delivery]:
    """The latest deliveries first, optionally of one project, forge or outcome:
    those of the projects the caller sees (an instance admin: every one)."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    visible = caller.visible()
    if visible is not None:
        query = query.where(Delivery.project_id.in_(visible))
    for column, value in ((Delivery.project_id, project_id), (Delivery.forge, forge),
                          (Delivery.status, status)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


@router.get(
    "/{delivery_id}",
    response_model=schemas.DeliveryOut,
    dependencies=allow(Action.READ, "delivery_id"),
)
def get(delivery_id: int, session: DbSession) -> Delivery:
    found = session.get(Delivery, delivery_id) if could_exist(delivery_id) else None
    if found is None:
        raise NotFoundError(f"delivery {delivery_id} not found")
    return found


@router.post(
    "/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.DeliveryOut,
    dependencies=allow(Action.TRIGGER, "delivery_id"),
)
def replay(delivery_id: int, session: DbSession, settings: Options, jobs: Jobs, audit: Audit,
           caller: Caller, request: Request) -> Delivery:  # fmt: skip
    """Handle the delivery's event again, recorded as a new delivery that names
    it; the runs it queues are the caller's, counted against their tier."""
    hold_runs(session, caller)
    replayed = get(delivery_id, session)
    audit("delivery.replay", project_id=replayed.project_id, target=f"delivery {delivery_id}")
    outcome = deliveries.replay(session, delivery_id, settings, jobs.queue)
    for run_id in outcome.runs:
        admit_run(request, session, caller, session.get_one(Run, run_id))
    made = get(outcome.delivery or 0, session)
    session.commit()  # its runs are sent and announced as it commits
    return made
