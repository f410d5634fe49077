"""Who is who: users, their roles on projects, their passwords and API tokens."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repolens.errors import Conflict, NotFoundError, Refused
from repolens.security import passwords, tokens
from repolens.security.policy import Principal, Scope
from repolens.storage import pending
from repolens.storage.models import (
    ApiToken,
    BrowserSession,
    ExternalIdentity,
    Membership,
    Role,
    User,
    could_exist,
    now,
)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LAST_USED_EVERY = timedelta(minutes=1)  # a token's last use is written at most this often


def any_exist(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(User.id.is_not(None)))))


def create(session: Session, username: str, *, password: str | None = None,
           email: str | None = None, display_name: str | None = None,
           admin: bool = False, tier: str = "free") -> User:  # fmt: skip
    """A new user; Refused for a name that is not one, Conflict when it is taken."""
    if not USERNAME.fullmatch(username):
        raise Refused("a username is 1 to 64 lower-case letters, digits, '.', '_' or '-', "
                      "starting with a letter or digit", field="username")  # fmt: skip
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    hashed = passwords.hashed(password) if password else None
    user = User(username=username, email=email, display_name=display_name, admin=admin,
                tier=tier, password_hash=hashed)  # fmt: skip
    session.add(user)
    _flush(session, f"user {username!r} already exists")
    return user


def _flush(session: Session, conflict: str) -> None:
    """Flush; a row another request wrote between the check and the write is a
    Conflict (409), not a server error."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None


def external(session: Session, provider: str, subject: str, wanted: str, *,
             email: str | None, display_name: str | None, tier: str) -> User:  # fmt: skip
    """The user PROVIDER knows as SUBJECT; on their first sign-in, a new user
    named as they WANTED where that name is free (else with a number after it).
    An account already here is never taken over by a provider's name for it."""
    linked = session.scalar(select(ExternalIdentity).where(
        ExternalIdentity.provider == provider, ExternalIdentity.subject == subject))  # fmt: skip
    if linked is not None:
        return get(session, linked.user_id)
    base = _usable(wanted)
    name, number = base, 1
    while session.scalar(select(User.id).where(User.username == name)) is not None:
        number += 1
        name = f"{base[:58]}-{number}"
    user = create(session, name, email=email, display_name=display_name, tier=tier)
    session.add(ExternalIdentity(user_id=user.id, provider=provider, subject=subject))
    _flush(session, f"{provider} user {subject!r} is signing in twice at once")
    return user


def _usable(wanted: str) -> str:
    """WANTED as a username: lower case, other characters as '-'."""
    name = re.sub(r"[^a-z0-9._-]+", "-", wanted.lower()).strip("-._")[:64]
    return name or "user"


def issue_link(session: Session, user: User, lasting: timedelta) -> str:
    """A one-time sign-in code for USER (a link's), worthless once used or after LASTING."""
    code = secrets.token_urlsafe(32)
    pending.put(session, f"link:{tokens.digest(code)}", {"user": user.id}, lasting)
    return code


def redeem_link(session: Session, code: str) -> User | None:
    """The enabled user a one-time CODE was for; the code is used up, whatever the answer."""
    if not code or len(code) > 100:
        return None
    kept = pending.take(session, f"link:{tokens.digest(code)}")
    user = session.get(User, kept["user"]) if kept else None
    return user if user is not None and not user.disabled else None


def hold(session: Session, user_id: int) -> None:
    """Lock USER_ID's row until the transaction ends: what one user does at
    once (queue runs against their tier) is done one at a time."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if could_exist(user_id) else None
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


def by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"user {username!r} not found")
    return user


def all(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def signed_in(session: Session, username: str, password: str) -> User | None:
    """The enabled user USERNAME, when PASSWORD is theirs."""
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None else None
    if not passwords.matches(stored, password) or user is None or user.disabled:
        return None  # the hash is checked first: an unknown name is no quicker to refuse
    return user


def add_member(session: Session, user_id: int, project_id: int, role: Role) -> Membership:
    """Give USER_ID ROLE on PROJECT_ID by hand (replacing the role they had there)."""
    held = _membership(session, user_id, project_id)
    if held is None:
        held = Membership(user_id=user_id, project_id=project_id, role=role.value)
        session.add(held)
    held.role, held.from_sign_on = role.value, False  # by hand: single sign-on leaves it be
    _flush(session, f"user {user_id}'s role on project {project_id} is being changed meanwhile")
    return held


def remove_member(session: Session, user_id: int, project_id: int) -> None:
    held = _membership(session, user_id, project_id)
    if held is None:
        raise NotFoundError(f"user {user_id} is not a member of project {project_id}")
    session.delete(held)


def _membership(session: Session, user_id: int, project_id: int) -> Membership | None:
    if not (could_exist(user_id) and could_exist(project_id)):
        return None  # an id out of range names no one (the database would fail on it)
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.project_id == project_id)
    )


def members(session: Session, project_id: int) -> list[Membership]:
    return list(session.scalars(select(Membership).where(Membership.project_id == project_id)
                                .order_by(Membership.user_id)))  # fmt: skip


def principal(user: User, token: ApiToken | None = None) -> Principal:
    """What USER may do, with TOKEN (within its scopes; all, without one)."""
    roles = {held.project_id: Role(held.role) for held in user.memberships}
    if token is None:
        return Principal(user.username, user.id, user.admin, roles, tier=user.tier)
    scopes = frozenset(Scope(scope) for scope in token.scopes)
    return Principal(user.username, user.id, user.admin, roles, scopes, token.id, user.tier)


def issue_token(session: Session, user: User, name: str, scopes: list[Scope],
                expires_in: timedelta | None = None) -> tuple[ApiToken, str]:  # fmt: skip
    """A new token for USER; returns its record and the token itself, which is
    not kept and cannot be shown again."""
    if not scopes:
        raise Refused("a token needs at least one scope", field="scopes")
    secret = tokens.mint()
    record = ApiToken(user_id=user.id, name=name[:100], digest=tokens.digest(secret),
                      hint=tokens.hint(secret), scopes=sorted(s.value for s in set(scopes)),
                      expires_at=now() + expires_in if expires_in else None)  # fmt: skip
    session.add(record)
    session.flush()
    return record, secret


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.id)))  # fmt: skip


def revoke_token(session: Session, token_id: int, owner: int | None = None) -> ApiToken:
    """Revoke token TOKEN_ID (OWNER's, when given: another's is not found)."""
    record = session.get(ApiToken, token_id) if could_exist(token_id) else None
    if record is None or (owner is not None and record.user_id != owner):
        raise NotFoundError(f"token {token_id} not found")
    record.revoked_at = record.revoked_at or now()
    return record


def bearer_of(session: Session, token: str, moment: datetime | None = None) -> Principal | None:
    """Who TOKEN stands for: its enabled owner, within its scopes, while it is
    neither revoked nor expired. Its last use is noted (at most once a minute)."""
    if not tokens.is_token(token):
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.digest == tokens.digest(token)))
    moment = moment or now()
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= moment:
        return None
    user = session.get(User, record.user_id)
    if user is None or user.disabled:
        return None
    if record.last_used_at is None or moment - record.last_used_at >= LAST_USED_EVERY:
        record.last_used_at = moment
    return principal(user, record)


def open_session(session: Session, user: User, lasting: timedelta) -> tuple[BrowserSession, str]:
    """A new browser session for USER; returns it and its cookie's value, which
    is not kept (only its digest)."""
    cookie = secrets.token_urlsafe(32)
    record = BrowserSession(user_id=user.id, digest=tokens.digest(cookie),
                            csrf=secrets.token_urlsafe(32), expires_at=now() + lasting)  # fmt: skip
    session.add(record)
    session.flush()
    return record, cookie


def session_of(session: Session, cookie: str,
               moment: datetime | None = None) -> tuple[Principal, str] | None:  # fmt: skip
    """Who the browser with COOKIE is, and its CSRF token, while its session is
    open and its user enabled."""
    if not cookie or len(cookie) > 100:
        return None
    record = session.scalar(select(BrowserSession)
                            .where(BrowserSession.digest == tokens.digest(cookie)))  # fmt: skip
    if record is None or record.expires_at <= (moment or now()):
        return None
    user = session.get(User, record.user_id)
    if user is None or user.disabled:
        return None
    return principal(user), record.csrf


def close_session(session: Session, cookie: str) -> None:
    """End the browser session of COOKIE: the cookie is worth nothing after."""
    session.execute(delete(BrowserSession).where(BrowserSession.digest == tokens.digest(cookie)))
