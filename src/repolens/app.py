"""`create_app(settings)`: the FastAPI application, built from one Settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.sessions import SessionMiddleware

from repolens import __version__
from repolens.api import errors
from repolens.api.live import sockets, stream
from repolens.api.routes import deliveries, jobs, people, projects, runs, sessions, webhooks
from repolens.api.routes import sign_on as sign_on_routes
from repolens.jobs.intake import Intake
from repolens.jobs.runtime import JobRuntime
from repolens.realtime import hub
from repolens.realtime.feed import Feed
from repolens.realtime.rooms import Rooms
from repolens.security import access, quotas, sign_on
from repolens.security.vault import Vault
from repolens.settings import Settings
from repolens.storage import db


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.engine(settings)
        app.state.settings = settings
        app.state.sessions = db.sessions(engine)
        app.state.hub = hub.create(settings)
        app.state.jobs = JobRuntime(settings, app.state.sessions, Feed(app.state.hub))
        app.state.rooms = Rooms(app.state.hub, asyncio.get_running_loop(), settings.ws_queue_size)
        app.state.admissions = access.Admissions(settings.ws_connections_per_address)
        app.state.doors = access.Doors(settings, app.state.sessions)
        app.state.quotas = quotas.Quotas(settings)
        app.state.sign_on = sign_on.providers(settings, app.state.sessions)
        app.state.jobs.start()
        app.state.intake = Intake(app.state.sessions, settings, app.state.jobs.queue)
        app.state.intake.start()
        try:
            yield
        finally:
            app.state.intake.stop()
            app.state.jobs.stop()
            app.state.hub.close()
            app.state.quotas.close()
            engine.dispose()

    app = FastAPI(title="repolens", version=__version__, lifespan=lifespan)
    errors.install(app)
    for router in (projects.router, runs.router, jobs.router, deliveries.router, people.router):
        app.include_router(router, prefix="/api/v1")  # each route has its own access rule
    app.include_router(webhooks.router)  # forges prove themselves by signature
    app.include_router(sessions.router)  # browsers sign in
    app.include_router(sign_on_routes.router)  # ... or sign on elsewhere
    if sign_on.configured(settings):
        _sign_on_cookie(app, settings)
    app.include_router(stream.router, prefix="/api/v1")
    app.router.routes.extend(sockets.routes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.document(
                get_openapi(title=app.title, version=app.version, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _sign_on_cookie(app: FastAPI, settings: Settings) -> None:
    """A single sign-on flow's marker: a short-lived cookie, signed with a key
    derived from the deployment's first secret key."""
    key = sign_on.state_cookie_key(Vault.of(settings).key)
    behind_tls = (settings.public_url or "").startswith("https://")
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie="repolens_sign_on",
                       max_age=int(sign_on.STATE_LASTS.total_seconds()), same_site="lax",
                       https_only=behind_tls)  # fmt: skip
