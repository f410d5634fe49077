"""Rate limits: how many requests a token may make, how many refreshes a user
may ask of one project, how many projects a user may add, in a moving window
(`limits`; its Redis storage counts atomically, so every process of a
deployment shares one budget). Accounts are limited; the local operator of a
deployment without accounts and the holder of `REPOLENS_API_TOKEN` are not.

A limit that cannot be counted (its Redis is away) lets the request through
with a warning: rate limits protect the service, they must not stop it."""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from repolens.errors import OverLimit, Refused
from repolens.settings import Settings, Tier

log = logging.getLogger(__name__)


class Budget(StrEnum):
    API = "api"  # every request of a token, or of an address without one
    REFRESH = "refresh"  # a user's manual refreshes of one project
    PROJECTS = "projects"  # the projects a user adds
    RUNS_HOUR = "runs-hour"  # the runs a user starts in an hour (as their tier says)
    RUNS_DAY = "runs-day"  # ... and in a day


def tier_named(settings: Settings, name: str | None) -> str:
    """NAME (default: new users' tier) when SETTINGS has such a tier; Refused otherwise."""
    name = name or settings.default_tier
    if name not in settings.tiers:
        raise Refused(f"the tier is one of {', '.join(settings.tiers)}", field="tier")
    return name


def tier_limits(tier: Tier) -> dict[Budget, RateLimitItem]:
    return {Budget.RUNS_HOUR: RateLimitItemPerHour(tier.runs_per_hour),
            Budget.RUNS_DAY: RateLimitItemPerDay(tier.runs_per_day)}  # fmt: skip


@dataclass(frozen=True)
class Standing:
    """Where a caller stands against one limit."""

    limit: int
    remaining: int
    reset: float  # when the window has room again (epoch seconds)

    def headers(self, now: float | None = None) -> dict[str, str]:
        """The `RateLimit-*` headers (the reset in seconds from now), and the
        `X-RateLimit-*` forms (the reset as an epoch second)."""
        after = max(0, math.ceil(self.reset - (now or time.time())))
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(after), "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(math.ceil(self.reset))}  # fmt: skip


class Messages:
    """What one live socket may send: counted in this process (a socket lives in
    one), each socket on its own."""

    def __init__(self, limiter: MovingWindowRateLimiter, rate: RateLimitItem) -> None:
        self.limiter, self.rate, self.key = limiter, rate, uuid.uuid4().hex

    @property
    def limit(self) -> int:
        return int(self.rate.amount)

    def spend(self) -> bool:
        """Count one message; False when the socket has sent its fill."""
        return bool(self.limiter.hit(self.rate, "socket", self.key))


class Quotas:
    def __init__(self, settings: Settings) -> None:
        self.storage = storage_from_string(settings.rate_limits)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.nearby = MovingWindowRateLimiter(MemoryStorage())  # this process's own counts
        self.socket_rate = parse(settings.rate_limit_socket)
        self.limits: dict[Budget, RateLimitItem] = {
            Budget.API: parse(settings.rate_limit_api),
            Budget.REFRESH: parse(settings.rate_limit_refresh),
            Budget.PROJECTS: parse(settings.rate_limit_projects),
        }

    def messages(self) -> Messages:
        """A new socket's message budget."""
        return Messages(self.nearby, self.socket_rate)

    def close(self) -> None:
        """Let go of the storage's connections (a Redis's), as the server stops."""
        client = getattr(self.storage, "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            pool.disconnect()

    def spend(
        self, budget: Budget, *who: str, item: RateLimitItem | None = None
    ) -> Standing | None:
        """Count one against BUDGET (its ITEM, when the caller's tier sets it)
        for WHO; OverLimit when it is spent. None when it could not be counted."""
        item = item or self.limits[budget]
        try:
            allowed = self.limiter.hit(item, budget.value, *who)
            stats = self.limiter.get_window_stats(item, budget.value, *who)
        except Exception as exc:  # the storage is away: let it through, say so
            log.warning("rate limit %s not counted: %s", budget.value, exc)
            return None
        standing = Standing(item.amount, stats.remaining, stats.reset_time)
        if not allowed:
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise OverLimit(f"rate limit reached: {item} ({budget.value}); try again in {wait} s",
                            standing.headers(), wait)  # fmt: skip
        return standing
