"""Users, their roles on projects, and their API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from repolens.api import schemas
from repolens.api.deps import SIGNED_IN, Audit, Caller, DbSession, Options, allow
from repolens.errors import Forbidden
from repolens.security import audit as trail
from repolens.security import identity, quotas
from repolens.security.policy import Action, Scope
from repolens.storage import models, projects

router = APIRouter(tags=["people"])
RowId = Annotated[int | None, Query(ge=0, le=models.MAX_ID)]
Text = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/me", response_model=schemas.Me, dependencies=SIGNED_IN)
def me(caller: Caller, request: Request) -> schemas.Me:
    """Who the token (or the signed-in browser) stands for, and what it may do."""
    roles = {project: role.value for project, role in caller.roles.items()}
    return schemas.Me(name=caller.name, user_id=caller.user_id, admin=caller.admin,
                      scopes=sorted(caller.scopes), roles=roles,
                      csrf_token=getattr(request.state, "csrf", None))  # fmt: skip


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=schemas.UserOut,
             dependencies=allow(Action.OPERATE))  # fmt: skip
def create_user(body: schemas.UserIn, session: DbSession, audit: Audit,
                settings: Options) -> models.User:  # fmt: skip
    password = body.password.get_secret_value() if body.password else None
    made = identity.create(session, body.username, password=password, email=body.email,
                           display_name=body.display_name, admin=body.admin,
                           tier=quotas.tier_named(settings, body.tier))  # fmt: skip
    audit("user.create", target=made.username, admin=made.admin)
    return made


@router.get("/users", response_model=list[schemas.UserOut], dependencies=allow(Action.OPERATE))
def list_users(session: DbSession) -> list[models.User]:
    return identity.all(session)


@router.patch("/users/{user_id}", response_model=schemas.UserOut,
              dependencies=allow(Action.OPERATE))  # fmt: skip
def update_user(user_id: int, body: schemas.UserPatch, session: DbSession, audit: Audit,
                settings: Options) -> models.User:  # fmt: skip
    """Disable (or enable) a user, make them an admin or not: a disabled user's
    tokens stop working at once."""
    user = identity.get(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    for flag in ("disabled", "admin", "tier"):  # null: left as it is
        if flag in changes and changes[flag] is None:
            del changes[flag]
    if "tier" in changes:
        changes["tier"] = quotas.tier_named(settings, changes["tier"])
    if "admin" in changes:
        user.admin_from_sign_on = False  # by hand: single sign-on leaves it be
    for name, value in changes.items():
        setattr(user, name, value)
    audit("user.update", target=user.username, **changes)
    return user


@router.get("/projects/{project_id}/members", response_model=list[schemas.MemberOut],
            dependencies=allow(Action.READ, "project_id"))  # fmt: skip
def members(project_id: int, session: DbSession) -> list[models.Membership]:
    projects.get(session, project_id)
    return identity.members(session, project_id)


@router.put("/projects/{project_id}/members/{user_id}", response_model=schemas.MemberOut,
            dependencies=allow(Action.MANAGE, "project_id"))  # fmt: skip
def add_member(project_id: int, user_id: int, body: schemas.MemberIn, session: DbSession,
               audit: Audit) -> models.Membership:  # fmt: skip
    projects.get(session, project_id)
    user = identity.get(session, user_id)
    audit("member.add", project_id=project_id, target=user.username, role=body.role)
    return identity.add_member(session, user_id, project_id, models.Role(body.role))


@router.delete("/projects/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT,
               dependencies=allow(Action.MANAGE, "project_id"))  # fmt: skip
def remove_member(project_id: int, user_id: int, session: DbSession, audit: Audit) -> None:
    identity.remove_member(session, user_id, project_id)
    audit("member.remove", project_id=project_id, target=identity.get(session, user_id).username)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=schemas.TokenMade,
             dependencies=SIGNED_IN)  # fmt: skip
def create_token(body: schemas.TokenIn, session: DbSession, caller: Caller,
                 audit: Audit) -> schemas.TokenMade:  # fmt: skip
    """A token for the caller's scripts, with no more than the caller's scopes."""
    if caller.user_id is None:
        raise Forbidden("only a user may hold tokens; create one with `repolens user create`")
    wanted = [Scope(scope) for scope in body.scopes]
    if not set(wanted) <= caller.scopes:
        raise Forbidden("a token cannot have a scope the caller's own token lacks")
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    record, secret = identity.issue_token(session, identity.get(session, caller.user_id),
                                          body.name, wanted, expires)  # fmt: skip
    audit("token.create", target=f"token {record.id}", name=record.name, scopes=record.scopes)
    return schemas.TokenMade(token=secret, **schemas.TokenOut.model_validate(record).model_dump())


@router.get("/tokens", response_model=list[schemas.TokenOut], dependencies=SIGNED_IN)
def list_tokens(session: DbSession, caller: Caller) -> list[models.ApiToken]:
    """The caller's own tokens (never the tokens themselves)."""
    return identity.tokens_of(session, caller.user_id) if caller.user_id is not None else []


@router.delete("/tokens/{token_id}", response_model=schemas.TokenOut, dependencies=SIGNED_IN)
def revoke_token(token_id: int, session: DbSession, caller: Caller,
                 audit: Audit) -> models.ApiToken:  # fmt: skip
    """Revoke one of the caller's tokens (an instance admin: anyone's)."""
    owner = None if caller.admin else (caller.user_id or -1)
    revoked = identity.revoke_token(session, token_id, owner)
    audit("token.revoke", target=f"token {token_id}")
    return revoked


@router.get("/audit", response_model=list[schemas.AuditOut], dependencies=allow(Action.OPERATE))
def audit_log(session: DbSession, project_id: RowId = None, actor: Text = None,
              action: Text = None, before: RowId = None,
              limit: Limit = 50) -> list[models.AuditEntry]:  # fmt: skip
    """Who did what, when and from where, latest first: for instance admins."""
    return trail.entries(session, project_id=project_id, actor=actor, action=action,
                         before=before, limit=limit)  # fmt: skip


@router.get("/projects/{project_id}/activity", response_model=list[schemas.AuditOut],
            dependencies=allow(Action.READ, "project_id"))  # fmt: skip
def activity(project_id: int, session: DbSession, before: RowId = None,
             limit: Limit = 50) -> list[models.AuditEntry]:  # fmt: skip
    """What was done to the project, latest first: for its members."""
    projects.get(session, project_id)
    return trail.entries(session, project_id=project_id, before=before, limit=limit)
