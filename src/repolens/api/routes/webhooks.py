"""Forge webhooks in: `POST /webhooks/{forge}` (the deployment's secret) and
`POST /webhooks/{forge}/{project_id}` (that project's own secret).

In this order, each step refusing before the next reads anything: the size
(413), the proof against the raw body (401), the event header and the JSON
(400), the payload as its event (400). Then the delivery is recorded and its
runs queued in one transaction (`jobs.intake`: with the deliveries that arrived
at the same moment), and the answer goes back at once (202); a delivery id seen
before queues nothing (200, `duplicate`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from repolens.api import bodies
from repolens.api.deps import FORGE
from repolens.errors import (
    InputError,
    NotFoundError,
    QueueUnavailable,
    Unauthenticated,
)
from repolens.forges.events import Event, Forge
from repolens.forges.hooks import HOOKS, Hook
from repolens.jobs.intake import Intake
from repolens.security.vault import Vault
from repolens.settings import Settings
from repolens.storage import projects
from repolens.storage.models import could_exist

router = APIRouter(tags=["webhooks"])

INTAKE_SECONDS = 5.0  # a forge gives up after 10 s: answer before that, either way


@router.post("/webhooks/{forge}", status_code=202, dependencies=FORGE)
async def deployment_hook(forge: Forge, request: Request) -> JSONResponse:
    """A delivery signed with the deployment's secret for FORGE."""
    return await _deliver(request, HOOKS[forge], None)


@router.post("/webhooks/{forge}/{project_id}", status_code=202, dependencies=FORGE)
async def project_hook(forge: Forge, project_id: int, request: Request) -> JSONResponse:
    """A delivery signed with the project's own webhook secret; it concerns that
    project only."""
    return await _deliver(request, HOOKS[forge], project_id)


async def _deliver(request: Request, hook: Hook, project_id: int | None) -> JSONResponse:
    settings: Settings = request.app.state.settings
    sessions: sessionmaker[Session] = request.app.state.sessions
    body = await bodies.bounded(request, settings.webhook_max_bytes, "a delivery")
    if project_id is None:
        secrets = _deployment_secrets(hook, settings)
    else:
        secrets = await run_in_threadpool(_project_secrets, settings, sessions, project_id)
    if not secrets:
        raise Unauthenticated(f"no {hook.forge} webhook secret is configured here; deliveries "
                           "are refused until one is")  # fmt: skip
    if not hook.verify(secrets, body, request.headers):
        raise Unauthenticated(f"{hook.proof} is missing or does not match")
    event = _event(hook, request.headers, body)
    intake: Intake = request.app.state.intake
    answer = intake.submit(event, hook.delivery(request.headers), project_id)
    try:
        outcome = await asyncio.wait_for(asyncio.wrap_future(answer), INTAKE_SECONDS)
    except TimeoutError:
        raise QueueUnavailable("deliveries are not being taken in now; send it again") from None
    return JSONResponse(outcome.answer(), status_code=200 if outcome.status == "duplicate" else 202)


def _deployment_secrets(hook: Hook, settings: Settings) -> list[str]:
    """The deployment's secret for the forge, if one is set."""
    secret = getattr(settings, hook.secret_setting)
    return [secret.get_secret_value()] if secret is not None else []


def _project_secrets(settings: Settings, sessions: sessionmaker[Session],
                     project_id: int) -> list[str]:  # fmt: skip
    """The project's own secret, if it has one."""
    if not could_exist(project_id):
        raise NotFoundError(f"project {project_id} not found")
    with sessions() as session:
        sealed = projects.get(session, project_id).webhook_secret
    return [Vault.of(settings).decrypt(sealed)] if sealed else []


def _event(hook: Hook, headers: Any, body: bytes) -> Event:
    name = hook.event(headers)
    if not name:
        raise InputError(f"the {hook.event_headers[0]} header is missing")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise InputError("the body is not JSON this server reads: nested too deeply") from None
    if not isinstance(payload, dict):
        raise InputError("the body must be a JSON object")
    return hook.read(name[:64], payload)
