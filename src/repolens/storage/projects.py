"""Queries about projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repolens.errors import NotFoundError
from repolens.storage.models import Project


def create(session: Session, **fields: Any) -> Project:
    project = Project(**fields)
    session.add(project)
    session.flush()
    return project


def get(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    return project


def by_name(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFoundError(f"project {name!r} not found")
    return project


def all(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def update(session: Session, project_id: int, **fields: Any) -> Project:
    project = get(session, project_id)
    for name, value in fields.items():
        setattr(project, name, value)
    session.flush()
    return project


def delete(session: Session, project_id: int) -> None:
    session.delete(get(session, project_id))
    session.flush()
