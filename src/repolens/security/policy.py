"""Who may do what: the one place it is decided, for every door (REST routes,
live channels, report downloads, the webhook delivery list).

A principal is who is asking: a user (through a token, or a browser session),
the holder of `REPOLENS_API_TOKEN` (an instance admin), or, on a deployment with
neither users nor that token, the local operator. What it may do is what its
role on the project allows, bounded by what its token's scopes allow:

    role         READ  TRIGGER  TRIAGE  EDIT  MANAGE          scope   allows
    viewer        ✓                                           read    READ
    maintainer    ✓      ✓        ✓      ✓                    write   READ … EDIT, CREATE
    admin         ✓      ✓        ✓      ✓      ✓             admin   everything

An instance admin holds every role on every project, and OPERATE (users, the
queue, every delivery). Anyone signed in with the write scope may CREATE a
project, and is its admin. A project the principal may not READ does not exist
for it: 404, never 403, so its existence stays hidden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from repolens.errors import Forbidden, NotFoundError, Unauthenticated
from repolens.storage.models import Role


class Action(StrEnum):
    READ = "read"  # see the project and everything of it
    TRIGGER = "trigger"  # ask for a scan; retry or cancel a run
    TRIAGE = "triage"  # mark findings
    EDIT = "edit"  # change the project and its webhook
    MANAGE = "manage"  # delete the project; its members
    CREATE = "create"  # add a project
    OPERATE = "operate"  # the instance: users, the queue, every delivery


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


PROJECT_ACTIONS = (Action.READ, Action.TRIGGER, Action.TRIAGE, Action.EDIT, Action.MANAGE)
ROLE_ALLOWS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.READ}),
    Role.MAINTAINER: frozenset({Action.READ, Action.TRIGGER, Action.TRIAGE, Action.EDIT}),
    Role.ADMIN: frozenset(PROJECT_ACTIONS),
}
SCOPE_ALLOWS: dict[Scope, frozenset[Action]] = {
    Scope.READ: frozenset({Action.READ}),
    Scope.WRITE: ROLE_ALLOWS[Role.MAINTAINER] | {Action.CREATE},
    Scope.ADMIN: frozenset(Action),
}
EVERY_SCOPE = frozenset(Scope)


@dataclass(frozen=True)
class Principal:
    """Who is asking: NAME (for logs and the audit), the USER_ID behind it (none
    for the instance token or the local operator), whether it is an instance
    ADMIN, its ROLES by project id, and the SCOPES of the token it came with."""

    name: str
    user_id: int | None = None
    admin: bool = False
    roles: Mapping[int, Role] = field(default_factory=dict)
    scopes: frozenset[Scope] = EVERY_SCOPE
    token_id: int | None = None  # the API token it came with
    tier: str = "free"  # what its user may run (REPOLENS_TIERS)

    @property
    def limited(self) -> bool:
        """Whether rate limits apply: to accounts, not to the local operator or
        the holder of `REPOLENS_API_TOKEN`."""
        return self.user_id is not None

    def may(self, action: Action, project_id: int | None = None) -> bool:
        """Whether it may do ACTION (on PROJECT_ID, for a project's action)."""
        if not any(action in SCOPE_ALLOWS[scope] for scope in self.scopes):
            return False
        if self.admin:
            return True
        if action == Action.CREATE:
            return self.user_id is not None
        if action == Action.OPERATE or project_id is None:
            return False
        role = self.roles.get(project_id)
        return role is not None and action in ROLE_ALLOWS[role]

    def sees(self, project_id: int | None) -> bool:
        """Whether the project exists for it (READ, regardless of scope)."""
        if self.admin:
            return True
        return project_id is not None and project_id in self.roles

    def visible(self) -> set[int] | None:
        """The projects it sees; None for all of them."""
        return None if self.admin else set(self.roles)


def require(principal: Principal | None, action: Action, project_id: int | None = None,
            what: str = "project") -> Principal:  # fmt: skip
    """PRINCIPAL, when it may do ACTION (on PROJECT_ID); else the error to
    answer with: 401 for no one, 404 when the project is hidden from it, 403
    when it sees the project (or the instance) but may not do that."""
    if principal is None:
        raise Unauthenticated("a valid bearer token is required")
    if action in PROJECT_ACTIONS and not principal.sees(project_id):
        raise NotFoundError(f"{what} not found")
    if not principal.may(action, project_id):
        raise Forbidden(f"{principal.name} may not {action.value} here")
    return principal
