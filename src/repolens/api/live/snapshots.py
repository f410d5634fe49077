"""What a client that joins a channel late is shown first: the state now, from
the database (the truth), as the REST API would show it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.api import schemas
from repolens.api.live import protocol
from repolens.realtime.hub import History
from repolens.storage.models import Project, Run, could_exist


def state(sessions: sessionmaker[Session], channel: str,
          among: set[int] | None = None) -> dict[str, Any] | None:  # fmt: skip
    """The state behind CHANNEL; None when what it names does not exist. On
    `global`, of the projects AMONG these ids (None: all)."""
    kind, _, key = channel.partition(":")
    if kind in ("run", "project") and not could_exist(int(key)):
        return None
    with sessions() as session:
        if kind == "run":
            run = session.get(Run, int(key))
            return None if run is None else {"run": _dump(schemas.RunOut, run)}
        if kind == "project":
            project = session.get(Project, int(key))
            if project is None:
                return None
            latest = session.scalars(
                select(Run).where(Run.project_id == project.id).order_by(Run.id.desc()).limit(10)
            ).all()
            return {"project": _dump(schemas.ProjectOut, project),
                    "runs": [_dump(schemas.RunOut, run) for run in latest]}  # fmt: skip
        if kind == "global":
            query = select(Run).where(Run.status.in_(("queued", "running")))
            if among is not None:
                query = query.where(Run.project_id.in_(among))
            active = session.scalars(query.order_by(Run.id)).all()
            return {"active_runs": [_dump(schemas.RunOut, run) for run in active]}
        return {}


def _dump(model: type[BaseModel], row: object) -> dict[str, Any]:
    return model.model_validate(row).model_dump(mode="json")


def message(channel: str, history: History, state: dict[str, Any]) -> protocol.Snapshot:
    """STATE as the snapshot of CHANNEL at HISTORY's last event."""
    return protocol.Snapshot(channel=channel, epoch=history.epoch, seq=history.last_seq,
                             data=state)  # fmt: skip
