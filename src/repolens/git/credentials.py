"""Credentials for a remote, handed to git one command at a time.

They never enter a URL, an argument list, a file or a message: git gets them
as an `http.<origin>.extraHeader` through `GIT_CONFIG_*` environment variables,
so only requests to the repository's own origin carry them. The same variables
pin the address a fetch connects to (`http.curloptResolve`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
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

    def config(self, url: str) -> list[tuple[str, str]]:
        """The git configuration that sends these credentials to URL's origin only."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return []
        origin = f"{parts.scheme}://{parts.netloc}/"
        token = base64.b64encode(self.joined().encode()).decode()
        return [(f"http.{origin}.extraHeader", f"Authorization: Basic {token}")]

    def environment(self, url: str) -> dict[str, str]:
        return environment(self.config(url))


def environment(config: Sequence[tuple[str, str]]) -> dict[str, str]:
    """CONFIG (key, value pairs) as the variables git reads it from, for one command."""
    variables = {"GIT_CONFIG_COUNT": str(len(config))} if config else {}
    for index, (key, value) in enumerate(config):
        variables[f"GIT_CONFIG_KEY_{index}"] = key
        variables[f"GIT_CONFIG_VALUE_{index}"] = value
    return variables


def for_fetch(url: str, credentials: Credentials | None, resolve: str | None) -> dict[str, str]:
    """The environment of a git command that fetches URL: its credentials, and
    the address its host was checked at (`host:port:address`), which git must
    connect to instead of asking the resolver again."""
    config = credentials.config(url) if credentials else []
    if resolve:
        config.append(("http.curloptResolve", resolve))
    return environment(config)
