"""Who may connect, and to which channels: the one place both are decided.

Until users and roles exist there is one principal, the holder of
`REPOLENS_API_TOKEN` (everyone, when it is not set), allowed every channel.
Roles will replace `authenticate` and `may_subscribe`, nothing else."""

from __future__ import annotations

import hmac
from collections import Counter
from dataclasses import dataclass, field

from repolens.realtime.events import is_channel
from repolens.settings import Settings


@dataclass(frozen=True)
class Principal:
    name: str


def authenticate(settings: Settings, token: str | None) -> Principal | None:
    """The principal TOKEN stands for; None when it stands for no one."""
    expected = settings.api_token
    if not expected:
        return Principal("local")
    if token and hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        return Principal("token")
    return None


def may_subscribe(principal: Principal | None, channel: str) -> bool:
    return principal is not None and is_channel(channel)


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
