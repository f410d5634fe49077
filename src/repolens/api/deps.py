"""Request dependencies: a database session, and the one access check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from repolens.jobs.runtime import JobRuntime
from repolens.security import access
from repolens.settings import Settings


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns."""
    with request.app.state.sessions.begin() as opened:
        yield opened


def jobs(request: Request) -> JobRuntime:
    value: JobRuntime = request.app.state.jobs
    return value


def authorised(request: Request) -> None:
    """Until users and roles exist: the REPOLENS_API_TOKEN as a bearer token, when set."""
    token = access.bearer(request.headers.get("authorization"))
    if access.authenticate(request.app.state.settings, token) is None:
        raise HTTPException(401, "A valid bearer token is required.",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


DbSession = Annotated[Session, Depends(session)]
Options = Annotated[Settings, Depends(settings)]
Jobs = Annotated[JobRuntime, Depends(jobs)]
