"""Calls to a forge's REST API: through the outbound guard, authenticated per
call, JSON in and out. A rate limit (403 or 429 with `Retry-After`, or GitHub's
`x-ratelimit-remaining: 0` with its reset time) raises `RateLimited` with how
long to wait, so the job is tried again then rather than hammering; a server
error or no connection raises DeliveryFailed (tried again with backoff); any
other refusal is final (`ForgeRefused`). Tokens never appear in an error."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from repolens import __version__
from repolens.errors import DeliveryFailed, RepolensError
from repolens.numerals import whole
from repolens.security.outbound import OutboundPolicy

MAX_WAIT = 3600.0  # a rate limit further off than this is waited for this long


class RateLimited(DeliveryFailed):
    """The forge asks to wait RETRY_AFTER seconds before the next call."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ForgeRefused(RepolensError):
    """The forge refused the call for good (a 4xx other than a rate limit)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ForgeClient:
    """BASE (an API root such as https://api.github.com) with the headers AUTH
    gives each call."""

    def __init__(self, base: str, auth: Callable[[], dict[str, str]], guard: OutboundPolicy,
                 timeout: float = 10.0) -> None:  # fmt: skip
        self.base, self.auth, self.guard, self.timeout = base.rstrip("/"), auth, guard, timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.base}/{path.lstrip('/')}"
        headers = {"Accept": "application/json", "User-Agent": f"repolens/{__version__}",
                   **self.auth()}  # fmt: skip
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            answer = self.guard.request(method, url, content=content, headers=headers,
                                        timeout=self.timeout)  # fmt: skip
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{method} {url}: {type(exc).__name__}") from None
        return _read(method, url, answer)

    def create(self, method: str, path: str, body: Any = None) -> int:
        """Call, and return the id of what the forge says it created."""
        found = id_of(self.call(method, path, body))
        if found is None:
            raise DeliveryFailed(f"{method} {self.base}/{path}: the answer names no id")
        return found


def id_of(answer: Any) -> int | None:
    """The `id` a forge's JSON object names, if it is one."""
    found = answer.get("id") if isinstance(answer, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _read(method: str, url: str, answer: httpx.Response) -> Any:
    wait = _wait(answer)
    if wait is not None:
        raise RateLimited(f"{method} {url}: rate limited ({answer.status_code}); "
                          f"again in {wait:g} s", wait)  # fmt: skip
    if answer.status_code >= 500 or answer.status_code == 408:
        raise DeliveryFailed(f"{method} {url}: answered {answer.status_code}")
    if answer.status_code >= 400:
        raise ForgeRefused(f"{method} {url}: refused with {answer.status_code}: "
                           f"{_said(answer)}", answer.status_code)  # fmt: skip
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        raise DeliveryFailed(f"{method} {url}: the answer is not JSON") from None


def _wait(answer: httpx.Response) -> float | None:
    """Seconds the forge asks to wait, when the answer is a rate limit."""
    if answer.status_code not in (403, 429):
        return None
    after = answer.headers.get("retry-after", "")
    if whole(after.strip()):
        return min(float(after), MAX_WAIT)
    if answer.headers.get("x-ratelimit-remaining") == "0":
        reset = answer.headers.get("x-ratelimit-reset", "")
        if whole(reset):
            return min(max(float(reset) - time.time(), 1.0), MAX_WAIT)
    return 60.0 if answer.status_code == 429 else None


def _said(answer: httpx.Response) -> str:
    try:
        found = answer.json()
    except ValueError:
        return answer.text[:200]
    message = found.get("message") if isinstance(found, dict) else None
    return str(message or found)[:200]
