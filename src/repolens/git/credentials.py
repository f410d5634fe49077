"""Credentials for a remote, handed to git one command at a time.

They never enter a URL, an argument list, a file or a message: git gets them
as an `http.<origin>.extraHeader` through `GIT_CONFIG_*` environment variables,
so only requests to the repository's own origin carry them."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Credentials:
    username: str = field(repr=False)
    password: str = field(default="", repr=False)

    def __str__(self) -> str:
        return "Credentials(***)"

    def joined(self) -> str:
        """`username:password`, the form they are stored in (encrypted)."""
        return f"{self.username}:{self.password}"

    @classmethod
    def parse(cls, joined: str) -> Credentials:
        username, _, password = joined.partition(":")
        return cls(username, password)

    def environment(self, url: str) -> dict[str, str]:
        """The variables that make git send these credentials to URL's origin only."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return {}
        origin = f"{parts.scheme}://{parts.netloc}/"
        token = base64.b64encode(self.joined().encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{origin}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {token}",
        }
