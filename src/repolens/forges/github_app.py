"""A GitHub App's credentials: a JWT signed RS256 with the app's private key,
exchanged for an installation token, kept until shortly before it expires."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import jwt

from repolens.errors import DeliveryFailed
from repolens.forges.client import ForgeClient
from repolens.security.outbound import OutboundPolicy

EARLY = 300  # seconds: an installation token is renewed this long before it expires


class AppTokens:
    def __init__(self, app_id: str, private_key: str, api: str, guard: OutboundPolicy) -> None:
        self.app_id, self.private_key, self.api, self.guard = app_id, private_key, api, guard
        self._tokens: dict[int, tuple[str, float]] = {}  # installation: (token, expires)
        self._lock = threading.Lock()

    def app_jwt(self, at: float | None = None) -> str:
        """The app's own token: ten minutes, back-dated a minute for clock drift."""
        moment = int(at if at is not None else time.time())
        claims = {"iat": moment - 60, "exp": moment + 540, "iss": self.app_id}
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    def installation_token(self, installation: int) -> str:
        with self._lock:
            cached = self._tokens.get(installation)
            if cached and cached[1] - EARLY > time.time():
                return cached[0]
        app = ForgeClient(self.api, lambda: {"Authorization": f"Bearer {self.app_jwt()}"},
                          self.guard)  # fmt: skip
        given = app.call("POST", f"app/installations/{installation}/access_tokens")
        try:
            token = given["token"]
            expires = datetime.fromisoformat(str(given["expires_at"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            raise DeliveryFailed("GitHub's answer for an installation token is not one") from None
        if not isinstance(token, str) or not token:
            raise DeliveryFailed("GitHub's answer for an installation token is not one")
        with self._lock:
            self._tokens[installation] = (token, expires.timestamp())
        return token
