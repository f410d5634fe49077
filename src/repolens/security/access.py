"""Who is asking, and which channels they may hear: the doors of the service.

A bearer token is either `REPOLENS_API_TOKEN` (an instance admin, for scripts)
or a user's API token (`security.tokens`), which stands for its owner within
its scopes (`security.identity.bearer_of`). A deployment with neither users
nor that token knows only its local operator, who may do everything: the
embedded default on one machine, until someone is given an account. What a
principal may do is `security.policy`'s to say."""

from __future__ import annotations

import hmac
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Address

from repolens.realtime.events import Event, is_channel
from repolens.security import identity, tokens
from repolens.security.policy import Principal
from repolens.settings import Settings
from repolens.storage import runs

COOKIE = "repolens_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL = Principal("local", admin=True)
INSTANCE = Principal("instance-token", admin=True)


class Doors:
    """How this deployment tells who is asking (one per process)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings, self.sessions = settings, sessions
        self._closed = threading.Event()  # once someone has an account, for good

    def principal(self, token: str | None) -> Principal | None:
        """Who TOKEN stands for; None when it stands for no one."""
        expected = self.settings.api_token
        if (
            token
            and expected is not None
            and hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
        ):
            return INSTANCE
        if token and tokens.is_token(token):
            with self.sessions.begin() as session:
                return identity.bearer_of(session, token)
        if expected is None and self._open():
            return LOCAL
        return None

    def browser(self, cookie: str) -> tuple[Principal, str] | None:
        """Who the signed-in browser with COOKIE is, and its CSRF token."""
        with self.sessions() as session:
            return identity.session_of(session, cookie)

    def _open(self) -> bool:
        """Whether no one has an account yet (then the local operator is in charge)."""
        if self._closed.is_set():
            return False
        with self.sessions() as session:
            if identity.any_exist(session):
                self._closed.set()
                return False
        return True

    def may_subscribe(self, principal: Principal | None, channel: str) -> bool:
        """Whether PRINCIPAL may hear CHANNEL: a run's or a project's when it sees
        the project, its own user channel, and `global` (of which it hears only
        what `admits` lets through)."""
        if principal is None or not is_channel(channel):
            return False
        kind, _, name = channel.partition(":")
        if kind == "global":
            return True
        if kind == "user":
            return principal.admin or str(principal.user_id) == name
        number = int(name) if name.isdigit() else 0
        if kind == "project":
            return principal.sees(number)
        if kind == "run":
            with self.sessions() as session:
                return principal.sees(runs.project_of(session, number))
        return False


def admits(principal: Principal, channel: str) -> Callable[[Event], bool] | None:
    """Which of CHANNEL's events PRINCIPAL hears (None: all of them): on `global`,
    those of the projects it sees; the instance's own (queue statistics) are an
    instance admin's."""
    if channel != "global" or principal.admin:
        return None
    return lambda event: principal.sees(_project_of(event))


def _project_of(event: Event) -> int | None:
    project = event.data.get("project_id")
    return project if isinstance(project, int) else None


def address(client: Address | None) -> str:
    """A connection's client address, for limits and the audit ("?" when unknown)."""
    return client.host if client else "?"


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


SUBPROTOCOL = "repolens.v1"
TOKEN_SUBPROTOCOL = "bearer."  # browsers cannot set headers: `bearer.<token>` as a subprotocol


def from_subprotocols(offered: list[str]) -> str | None:
    for name in offered:
        if name.startswith(TOKEN_SUBPROTOCOL):
            return name[len(TOKEN_SUBPROTOCOL) :]
    return None


@dataclass
class Admissions:
    """Live connections (sockets and event streams) open per client address,
    under a cap: one client cannot hold every descriptor of the server."""

    limit: int
    open: Counter[str] = field(default_factory=Counter)

    def enter(self, address: str) -> bool:
        """Count one more connection from ADDRESS; False (and not counted) at the cap."""
        if self.open[address] >= self.limit:
            return False
        self.open[address] += 1
        return True

    def leave(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]
