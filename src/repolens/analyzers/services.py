"""What an analyzer may use of the world outside its snapshot: the services its
context carries.

An analyzer never builds a client of its own. A pure one uses nothing, and its
context's default, `NoServices`, refuses every use (`ServiceNotProvided`), so it
cannot reach the network by accident. One that needs more (an LLM reviewer: an
HTTP client, a budget to spend) asks `context.services`: a scan hands in
`Provided` with HTTP through the outbound guard and the budget its settings allow
(`repolens.scan.analyzer_services`), a test `Provided` with `MemoryHttp`, which
records each request and answers from a table."""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from repolens.errors import ServiceNotProvided


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    def json(self) -> Any: ...


class Http(Protocol):
    def post(
        self, url: str, *, json: Any, headers: Mapping[str, str], timeout: float
    ) -> Response: ...


class Budget(Protocol):
    """Units (tokens, calls) an analyzer may spend in one scan."""

    @property
    def remaining(self) -> int: ...

    def spend(self, units: int) -> bool:
        """True, and UNITS fewer remaining, if that many remain; False, and nothing spent,
        if not."""


class Services(Protocol):
    @property
    def http(self) -> Http: ...

    @property
    def budget(self) -> Budget: ...


class NoServices:
    """The services of a pure analyzer: none."""

    @property
    def http(self) -> Http:
        raise ServiceNotProvided("this scan gives its analyzers no HTTP client")

    @property
    def budget(self) -> Budget:
        raise ServiceNotProvided("this scan gives its analyzers no budget to spend")


@dataclass(frozen=True)
class Provided:
    """Services a scan (or a test) provides its analyzers."""

    http: Http
    budget: Budget


class CountingBudget:
    """LIMIT units for one scan, spent by any of its analyzers' threads."""

    def __init__(self, limit: int) -> None:
        self._remaining = limit
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return self._remaining

    def spend(self, units: int) -> bool:
        if units < 0:
            raise ValueError(f"cannot spend {units} units")
        with self._lock:
            if units > self._remaining:
                return False
            self._remaining -= units
            return True


class Guard(Protocol):
    """The outbound guard's POST (`repolens.security.outbound.OutboundPolicy`)."""

    def post(
        self, url: str, *, content: bytes, headers: dict[str, str], timeout: float
    ) -> Response: ...


class GuardedHttp:
    """JSON POSTs through GUARD: to the address it checked, no redirects."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def post(self, url: str, *, json: Any, headers: Mapping[str, str], timeout: float) -> Response:
        body = jsonlib.dumps(json).encode()
        sent = {"Content-Type": "application/json", **headers}
        return self.guard.post(url, content=body, headers=sent, timeout=timeout)


@dataclass(frozen=True)
class Request:
    url: str
    json: Any
    headers: dict[str, str]
    timeout: float


@dataclass(frozen=True)
class Answer:
    """A canned response."""

    status_code: int = 200
    body: Any = None

    def json(self) -> Any:
        return self.body


NOT_FOUND = Answer(404, {"error": "no canned answer for this URL"})


@dataclass
class MemoryHttp:
    """HTTP for tests: each request recorded, answered from ANSWERS by URL (404 if
    the URL is not there); nothing leaves the process."""

    answers: Mapping[str, Answer] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def post(self, url: str, *, json: Any, headers: Mapping[str, str], timeout: float) -> Answer:
        with self._lock:
            self.requests.append(Request(url, json, dict(headers), timeout))
        return self.answers.get(url, NOT_FOUND)
