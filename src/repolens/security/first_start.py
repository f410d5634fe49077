"""A deployment's first start: with no users yet, an admin is made, with an
API token and a one-time sign-in link for whoever started it. From then on no
caller is let in without an account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import Conflict
from repolens.security import identity
from repolens.security.policy import Scope

ADMIN = "admin"
TOKEN_LASTS = timedelta(days=365)
LINK_LASTS = timedelta(hours=24)


@dataclass(frozen=True)
class Welcome:
    """What the first start hands its operator, once: shown, never kept."""

    username: str
    token: str
    link_code: str


def welcome(sessions: sessionmaker[Session]) -> Welcome | None:
    """The admin made now, when no one has an account yet (None otherwise, and
    when another process starting at the same moment made one first)."""
    try:
        with sessions.begin() as session:
            if identity.any_exist(session):
                return None
            user = identity.create(session, ADMIN, admin=True, display_name="Administrator")
            _, token = identity.issue_token(session, user, "first start", list(Scope),
                                            TOKEN_LASTS)  # fmt: skip
            return Welcome(user.username, token, identity.issue_link(session, user, LINK_LASTS))
    except Conflict:
        return None


def link(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/login/once?code={code}"
