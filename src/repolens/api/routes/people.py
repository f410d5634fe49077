"""Users, their roles on projects, and their API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from repolens.api import schemas
from repolens.api.deps import SIGNED_IN, Caller, DbSession, allow
from repolens.errors import Forbidden
from repolens.security import identity
from repolens.security.policy import Action, Scope
from repolens.storage import models, projects

router = APIRouter(tags=["people"])


@router.get("/me", response_model=schemas.Me, dependencies=SIGNED_IN)
def me(caller: Caller) -> schemas.Me:
    """Who the token stands for, and what it may do."""
    roles = {project: role.value for project, role in caller.roles.items()}
    return schemas.Me(name=caller.name, user_id=caller.user_id, admin=caller.admin,
                      scopes=sorted(caller.scopes), roles=roles)  # fmt: skip


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=schemas.UserOut,
             dependencies=allow(Action.OPERATE))  # fmt: skip
def create_user(body: schemas.UserIn, session: DbSession) -> models.User:
    password = body.password.get_secret_value() if body.password else None
    return identity.create(session, body.username, password=password, email=body.email,
                           display_name=body.display_name, admin=body.admin)  # fmt: skip


@router.get("/users", response_model=list[schemas.UserOut], dependencies=allow(Action.OPERATE))
def list_users(session: DbSession) -> list[models.User]:
    return identity.all(session)


@router.patch("/users/{user_id}", response_model=schemas.UserOut,
              dependencies=allow(Action.OPERATE))  # fmt: skip
def update_user(user_id: int, body: schemas.UserPatch, session: DbSession) -> models.User:
    """Disable (or enable) a user, make them an admin or not: a disabled user's
    tokens stop working at once."""
    user = identity.get(session, user_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(user, name, value)
    return user


@router.get("/projects/{project_id}/members", response_model=list[schemas.MemberOut],
            dependencies=allow(Action.READ, "project_id"))  # fmt: skip
def members(project_id: int, session: DbSession) -> list[models.Membership]:
    projects.get(session, project_id)
    return identity.members(session, project_id)


@router.put("/projects/{project_id}/members/{user_id}", response_model=schemas.MemberOut,
            dependencies=allow(Action.MANAGE, "project_id"))  # fmt: skip
def add_member(project_id: int, user_id: int, body: schemas.MemberIn,
               session: DbSession) -> models.Membership:  # fmt: skip
    projects.get(session, project_id)
    identity.get(session, user_id)
    return identity.add_member(session, user_id, project_id, models.Role(body.role))


@router.delete("/projects/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT,
               dependencies=allow(Action.MANAGE, "project_id"))  # fmt: skip
def remove_member(project_id: int, user_id: int, session: DbSession) -> None:
    identity.remove_member(session, user_id, project_id)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=schemas.TokenMade,
             dependencies=SIGNED_IN)  # fmt: skip
def create_token(body: schemas.TokenIn, session: DbSession, caller: Caller) -> schemas.TokenMade:
    """A token for the caller's scripts, with no more than the caller's scopes."""
    if caller.user_id is None:
        raise Forbidden("only a user may hold tokens; create one with `repolens user create`")
    wanted = [Scope(scope) for scope in body.scopes]
    if not set(wanted) <= caller.scopes:
        raise Forbidden("a token cannot have a scope the caller's own token lacks")
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    record, secret = identity.issue_token(session, identity.get(session, caller.user_id),
                                          body.name, wanted, expires)  # fmt: skip
    return schemas.TokenMade(token=secret, **schemas.TokenOut.model_validate(record).model_dump())


@router.get("/tokens", response_model=list[schemas.TokenOut], dependencies=SIGNED_IN)
def list_tokens(session: DbSession, caller: Caller) -> list[models.ApiToken]:
    """The caller's own tokens (never the tokens themselves)."""
    return identity.tokens_of(session, caller.user_id) if caller.user_id is not None else []


@router.delete("/tokens/{token_id}", response_model=schemas.TokenOut, dependencies=SIGNED_IN)
def revoke_token(token_id: int, session: DbSession, caller: Caller) -> models.ApiToken:
    """Revoke one of the caller's tokens (an instance admin: anyone's)."""
    return identity.revoke_token(
        session, token_id, None if caller.admin else (caller.user_id or -1)
    )
