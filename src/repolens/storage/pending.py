"""Sign-ins begun and not finished, kept server-side: a single sign-on flow's
state, a one-time sign-in link. Each is taken at most once, and is worthless
after its time."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from repolens.storage.models import PendingSignIn, now


def put(session: Session, key: str, value: dict[str, Any], lasting: timedelta) -> None:
    """Keep VALUE under KEY for LASTING (sweeping what has expired meanwhile)."""
    moment = now()
    session.execute(delete(PendingSignIn).where(PendingSignIn.expires_at <= moment))
    session.merge(PendingSignIn(key=key, value=json.dumps(value), expires_at=moment + lasting))
    session.flush()


def take(session: Session, key: str, moment: datetime | None = None) -> dict[str, Any] | None:
    """What is kept under KEY, while it lasts; gone after, so a second take of
    the same key (a replay, or a race) gets None."""
    taken = session.execute(
        delete(PendingSignIn).where(PendingSignIn.key == key)
        .returning(PendingSignIn.value, PendingSignIn.expires_at)
    ).first()  # fmt: skip
    if taken is None or taken.expires_at <= (moment or now()):
        return None
    value: dict[str, Any] = json.loads(taken.value)
    return value


def drop(session: Session, key: str) -> None:
    session.execute(delete(PendingSignIn).where(PendingSignIn.key == key))
