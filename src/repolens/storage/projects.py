"""Queries about projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repolens.errors import Conflict, NotFoundError
from repolens.storage.models import Project, Run, could_exist


def create(session: Session, **fields: Any) -> Project:
    """A new project; Conflict when its name is taken."""
    _name_free(session, fields["name"])
    project = Project(**fields)
    session.add(project)
    _flush(session, fields["name"])
    return project


def get(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id) if could_exist(project_id) else None
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    return project


def by_name(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFoundError(f"project {name!r} not found")
    return project


def all(session: Session, among: set[int] | None = None) -> list[Project]:
    """Every project (those AMONG these ids, when given)."""
    query = select(Project).order_by(Project.id)
    if among is not None:
        query = query.where(Project.id.in_(among))
    return list(session.scalars(query))


def update(session: Session, project_id: int, **fields: Any) -> Project:
    project = get(session, project_id)
    if "name" in fields and fields["name"] != project.name:
        _name_free(session, fields["name"])
    for name, value in fields.items():
        setattr(project, name, value)
    _flush(session, project.name)
    return project


def delete(session: Session, project_id: int) -> list[Run]:
    """Delete the project with its runs; returns those that had not ended, for
    their jobs to be taken back (queued) or stopped (running: the worker finds
    its run gone at its next heartbeat)."""
    project = get(session, project_id)
    unfinished = list(
        session.scalars(
            select(Run).where(Run.project_id == project_id, Run.status.in_(("queued", "running")))
        )
    )
    session.delete(project)
    session.flush()
    return unfinished


def _name_free(session: Session, name: str) -> None:
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"a project named {name!r} already exists")


def _flush(session: Session, name: str) -> None:
    """Flush; a name taken by a concurrent request between the check and the
    write is a Conflict too."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a project named {name!r} already exists") from None
