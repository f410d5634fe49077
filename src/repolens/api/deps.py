"""Request dependencies: a database session, and each route's one access rule."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, params
from limits import RateLimitItem
from sqlalchemy import select
from sqlalchemy.orm import Session

from repolens.errors import Forbidden, OverLimit, Unauthenticated
from repolens.jobs.runtime import JobRuntime
from repolens.security import access, audit, identity, policy, quotas
from repolens.security.policy import Action, Principal
from repolens.security.quotas import Budget, Quotas, Standing
from repolens.settings import Settings
from repolens.storage import runs
from repolens.storage.models import Delivery, Finding, Run, could_exist

CONCURRENT_RETRY = 30  # seconds to wait when a user has as many runs going as their tier allows


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns (before
    the answer is sent)."""
    with request.app.state.sessions.begin() as opened:
        yield opened


def jobs(request: Request) -> JobRuntime:
    value: JobRuntime = request.app.state.jobs
    return value


def who(request: Request) -> Principal | None:
    """Who the request's bearer token stands for, else its signed-in browser's
    session (None: no one). A browser's request that changes anything must
    carry its session's CSRF token (a page of another site cannot read it)."""
    doors: access.Doors = request.app.state.doors
    token = access.bearer(request.headers.get("authorization"))
    cookie = request.cookies.get(access.COOKIE)
    if token is not None or not cookie:
        return doors.principal(token)
    signed_in = doors.browser(cookie)
    if signed_in is None:
        return None
    principal, csrf = signed_in
    if request.method not in access.SAFE_METHODS and not hmac.compare_digest(
        request.headers.get(access.CSRF_HEADER, "").encode(), csrf.encode()
    ):
        raise Forbidden(f"a signed-in browser's {request.method} needs its {access.CSRF_HEADER}")
    request.state.csrf = csrf
    return principal


# What each kind of path parameter names, and how to find the project it belongs to.
_OWNERS: dict[str, Callable[[Session, int], int | None] | None] = {
    "project_id": None,
    "run_id": runs.project_of,
    "finding_id": lambda session, key: session.scalar(
        select(Run.project_id).join(Finding, Finding.run_id == Run.id).where(Finding.id == key)
    ),
    "delivery_id": lambda session, key: session.scalar(
        select(Delivery.project_id).where(Delivery.id == key)
    ),
}


class Rule:
    """A route's access rule, the only one it has (the authorisation matrix
    test fails on a route without exactly one): ACTION on the project that
    the path parameter ON names (`project_id`, or a run, finding or delivery
    of it), or on the instance when ON is None. SIGNED_IN lets anyone signed
    in through (the route shows them only what they see); FORGE leaves the
    proof to the route (a webhook's signature); PUBLIC is a health probe's. The
    principal is kept on the request for the route (`Caller`)."""

    def __init__(self, action: Action | None, on: str | None = None, *,
                 forge: bool = False, public: bool = False) -> None:  # fmt: skip
        if on is not None and on not in _OWNERS:
            raise ValueError(f"no rule knows whose {on} is")
        self.action, self.on, self.forge, self.public = action, on, forge, public

    def __repr__(self) -> str:
        if self.forge:
            return "Rule(signed by the forge)"
        if self.public:
            return "Rule(public)"
        return f"Rule({self.action or 'signed in'}{f' on {self.on}' if self.on else ''})"

    def __call__(self, request: Request) -> Principal | None:
        if self.forge or self.public:
            return None
        principal = who(request)
        if principal is None:  # guessing tokens is limited by address
            spend(request, Budget.API, f"address:{access.address(request.client)}")
            raise Unauthenticated("a valid bearer token is required")
        if principal.limited:
            spend(request, Budget.API, f"token:{principal.token_id}")
        if self.action is not None:
            project_id, what = self._project(request, principal)
            policy.require(principal, self.action, project_id, what)
        request.state.principal = principal
        return principal

    def _project(self, request: Request, principal: Principal) -> tuple[int | None, str]:
        if self.on is None:
            return None, "it"
        raw = request.path_params.get(self.on, "")
        key = int(raw) if str(raw).isdigit() and could_exist(int(raw)) else None
        what = f"{self.on.removesuffix('_id')} {raw}"
        owner = _OWNERS[self.on]
        if owner is None or key is None:
            return key, what
        if principal.admin:
            return 0, what  # every project is an admin's; the route says whether it exists
        with request.app.state.sessions() as opened:
            return owner(opened, key), what


def spend(request: Request, budget: Budget, *who: str, item: RateLimitItem | None = None) -> None:
    """Count the request against BUDGET (ITEM, when set) for WHO (OverLimit when
    it is spent); the tightest standing is told in the `RateLimit-*` headers."""
    counts: Quotas = request.app.state.quotas
    standing = counts.spend(budget, *who, item=item)
    told: Standing | None = getattr(request.state, "rate", None)
    if standing is not None and (told is None or standing.remaining < told.remaining):
        request.state.rate = standing


def hold_runs(session: Session, caller: Principal) -> None:
    """Before a request queues runs for CALLER's user: their row is held, so
    their runs are counted (`admit_run`) one request at a time."""
    if caller.user_id is not None:
        identity.hold(session, caller.user_id)


def admit_run(request: Request, session: Session, caller: Principal, run: Run) -> None:
    """RUN, new and asked for by CALLER's user, counted against their tier:
    OverLimit (and the run not queued) when they already have as many runs
    waiting or running as it allows, or have started as many this hour or day.
    Nothing for a caller without an account. `hold_runs` came first."""
    settings: Settings = request.app.state.settings
    if caller.user_id is None:
        return
    tier = settings.tiers.get(caller.tier) or settings.tiers[settings.default_tier]
    run.requested_by = caller.user_id
    session.flush()
    if runs.active_of(session, caller.user_id) > tier.concurrent_runs:
        raise OverLimit(f"your tier ({caller.tier}) allows {tier.concurrent_runs} runs at once; "
                        "one must end first", {}, CONCURRENT_RETRY)  # fmt: skip
    for budget, item in quotas.tier_limits(tier).items():
        spend(request, budget, f"user:{caller.user_id}", item=item)


def caller(request: Request) -> Principal:
    """The principal the route's rule let in."""
    value: Principal = request.state.principal
    return value


class Auditor:
    """Writes the audit log's entries of one request: its caller, from its
    address, in its transaction."""

    def __init__(self, session: Session, principal: Principal, address: str) -> None:
        self.session, self.principal, self.address = session, principal, address

    def __call__(self, action: str, *, project_id: int | None = None, target: object = None,
                 **details: Any) -> None:  # fmt: skip
        audit.record(self.session, self.principal, action, address=self.address,
                     project_id=project_id, target=None if target is None else str(target),
                     **details)  # fmt: skip


def auditor(request: Request, opened: Annotated[Session, Depends(session)]) -> Auditor:
    return Auditor(opened, caller(request), access.address(request.client))


def allow(action: Action | None, on: str | None = None) -> list[params.Depends]:
    """A route's `dependencies=`: its one rule."""
    return [params.Depends(Rule(action, on))]


SIGNED_IN = allow(None)
FORGE = [params.Depends(Rule(None, forge=True))]
PUBLIC = [params.Depends(Rule(None, public=True))]

# Committed before the answer is sent: a client that acts on an answer finds what it
# said (a new session, project or run) already there, and a failed commit is the answer.
DbSession = Annotated[Session, Depends(session, scope="function")]
Options = Annotated[Settings, Depends(settings)]
Jobs = Annotated[JobRuntime, Depends(jobs)]
Caller = Annotated[Principal, Depends(caller)]
Audit = Annotated[Auditor, Depends(auditor)]
