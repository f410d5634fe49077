"""The audit log: who did what, when and from where. Written in the same
transaction as what it records, so an entry exists exactly when the change does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repolens.security.policy import Principal
from repolens.storage.models import AuditEntry


def record(session: Session, principal: Principal, action: str, *, address: str | None = None,
           project_id: int | None = None, target: str | None = None,
           **details: Any) -> AuditEntry:  # fmt: skip
    entry = AuditEntry(actor=principal.name[:64], user_id=principal.user_id,
                       token_id=principal.token_id, address=(address or "")[:64] or None,
                       action=action, project_id=project_id,
                       target=(target or "")[:200] or None, details=details)  # fmt: skip
    session.add(entry)
    return entry


def entries(session: Session, *, project_id: int | None = None, actor: str | None = None,
            action: str | None = None, before: int | None = None,
            limit: int = 50) -> list[AuditEntry]:  # fmt: skip
    """The latest entries first, narrowed by what is given; BEFORE is an entry id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    for column, value in ((AuditEntry.project_id, project_id), (AuditEntry.actor, actor),
                          (AuditEntry.action, action)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(session.scalars(query))
