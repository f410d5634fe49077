"""Single sign-on: OpenID Connect (Keycloak, GitLab, Google, ...) and GitHub
OAuth, through authlib.

authlib keeps a flow's `state`, `nonce` and PKCE verifier in `States` (server
side, taken once) and a marker in the browser's short-lived signed cookie, so
a callback counts only in the browser that began it and only once; it checks
the state, sends the verifier, and checks the ID token's signature, issuer,
audience, expiry and nonce. What the provider says of the user (`Claimant`)
then becomes a user here (`admit`): their first sign-in creates them, and the
groups (or GitHub organisations) `REPOLENS_SSO_ROLES` names give their roles."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from repolens.errors import Forbidden, NotFoundError
from repolens.security import identity
from repolens.settings import Settings, plain
from repolens.storage import pending, projects
from repolens.storage.models import Membership, Role, User

STATE_LASTS = timedelta(minutes=10)  # a sign-in not finished by then starts again
TIMEOUT = 10.0  # seconds, for each request to the provider
SUBJECT_LENGTH = 255
ORDER = list(Role)  # each role includes the ones before it
NAMES = {"oidc": "single sign-on", "github": "GitHub"}


class States:
    """Where authlib keeps a flow begun (its cache): the database every API
    process shares, each entry taken at most once."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> str | None:
        """What is kept under KEY, taken: a second callback with the same state,
        even one racing the first, finds nothing."""
        found = await run_in_threadpool(self._take, key)
        return str(found["kept"]) if found else None

    async def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        await run_in_threadpool(self._put, key, value)

    async def delete(self, key: str) -> None:
        await run_in_threadpool(self._drop, key)

    def _take(self, key: str) -> dict[str, Any] | None:
        with self.sessions.begin() as session:
            return pending.take(session, f"sso:{key}")

    def _put(self, key: str, value: str) -> None:
        with self.sessions.begin() as session:
            pending.put(session, f"sso:{key}", {"kept": value}, STATE_LASTS)

    def _drop(self, key: str) -> None:
        with self.sessions.begin() as session:
            pending.drop(session, f"sso:{key}")


def providers(settings: Settings, sessions: sessionmaker[Session]) -> OAuth:
    """The providers SETTINGS configure (none: single sign-on is off)."""
    oauth = OAuth(cache=States(sessions))
    offered = configured(settings)
    if "oidc" in offered:
        issuer = (settings.oidc_issuer or "").rstrip("/")
        oauth.register(
            "oidc", client_id=settings.oidc_client_id,
            client_secret=plain(settings.oidc_client_secret),
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                           "timeout": TIMEOUT},
        )  # fmt: skip
    if "github" in offered:
        oauth.register(
            "github", client_id=settings.github_client_id,
            client_secret=plain(settings.github_client_secret),
            authorize_url=f"{settings.github_oauth_url.rstrip('/')}/login/oauth/authorize",
            access_token_url=f"{settings.github_oauth_url.rstrip('/')}/login/oauth/access_token",
            api_base_url=f"{settings.github_api_url.rstrip('/')}/",
            client_kwargs={"scope": "read:user user:email read:org",
                           "code_challenge_method": "S256", "timeout": TIMEOUT},
        )  # fmt: skip
    return oauth


def configured(settings: Settings) -> list[str]:
    """The providers a sign-in page offers."""
    named = {"oidc": bool(settings.oidc_issuer and settings.oidc_client_id),
             "github": bool(settings.github_client_id)}  # fmt: skip
    return [provider for provider, on in named.items() if on]


def client(oauth: OAuth, provider: str) -> StarletteOAuth2App:
    found = oauth.create_client(provider) if provider in NAMES else None
    if found is None:
        raise NotFoundError(f"no single sign-on through {provider!r} here")
    app: StarletteOAuth2App = found
    return app


@dataclass(frozen=True)
class Claimant:
    """Who a provider says signed in."""

    provider: str
    subject: str  # the provider's own id for them, which never changes
    username: str  # what they would like to be called here
    email: str | None
    name: str | None
    groups: frozenset[str]


async def claimant(provider: str, app: StarletteOAuth2App, token: dict[str, Any],
                   groups_claim: str) -> Claimant:  # fmt: skip
    """Who TOKEN (just verified by authlib) stands for, and their groups."""
    if provider == "oidc":
        claims = dict(token["userinfo"])  # the ID token's, verified
        if groups_claim not in claims:
            told = dict(await app.userinfo(token=token))
            if told.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: else it is not theirs
                raise ValueError("the userinfo is of another subject")
            claims[groups_claim] = told.get(groups_claim)
        subject = f"{claims['iss']}#{claims['sub']}"  # a subject is unique at its issuer only
        if len(subject) > SUBJECT_LENGTH:
            subject = hashlib.sha256(subject.encode()).hexdigest()
        return Claimant("oidc", subject, str(claims.get("preferred_username") or claims["sub"]),
                        _text(claims.get("email")), _text(claims.get("name")),
                        _names(claims.get(groups_claim)))  # fmt: skip
    user = (await app.get("user", token=token)).raise_for_status().json()
    orgs = (await app.get("user/orgs", params={"per_page": 100},
                          token=token)).raise_for_status().json()  # fmt: skip
    logins = [org.get("login") for org in orgs if isinstance(org, dict)]
    return Claimant("github", str(int(user["id"])), str(user["login"]), _text(user.get("email")),
                    _text(user.get("name")), _names(logins))  # fmt: skip


def admit(session: Session, who: Claimant, settings: Settings) -> User:
    """The user WHO is here (made on their first sign-in), with the roles their
    groups give now (`REPOLENS_SSO_ROLES`, keyed `<provider>:<group>`): what a
    group gave and the group no longer gives is taken back; a role given by hand
    is left alone. Forbidden when they are in no group let in (unless OIDC is
    open to all its users, `REPOLENS_SSO_OPEN`)."""
    groups = sorted(set(settings.sso_roles) & {f"{who.provider}:{g}" for g in who.groups})
    if not groups and not (who.provider == "oidc" and settings.sso_open):
        raise Forbidden(f"{NAMES[who.provider]} says you are in no group this server lets in")
    user = identity.external(session, who.provider, who.subject, who.username,
                             email=who.email, display_name=who.name,
                             tier=settings.default_tier)  # fmt: skip
    if user.disabled:
        raise Forbidden("this account is disabled")
    given = [settings.sso_roles[group] for group in groups]
    admin = any(isinstance(each, str) for each in given)
    if admin and not user.admin:
        user.admin, user.admin_from_sign_on = True, True
    elif not admin and user.admin_from_sign_on:
        user.admin, user.admin_from_sign_on = False, False
    wanted: dict[int, Role] = {}
    for each in given:
        for project_name, role in ({} if isinstance(each, str) else each).items():
            try:
                project = projects.by_name(session, project_name)
            except NotFoundError:
                continue  # a group may name a project before it is added
            held = wanted.get(project.id)
            if held is None or ORDER.index(Role(role)) > ORDER.index(held):
                wanted[project.id] = Role(role)
    _follow(session, user, wanted)
    session.flush()
    return user


def _follow(session: Session, user: User, wanted: dict[int, Role]) -> None:
    """USER's roles from groups become WANTED (by project id); hand-given ones stay."""
    held = {membership.project_id: membership for membership in user.memberships}
    for project_id, membership in held.items():
        if membership.from_sign_on and project_id not in wanted:
            session.delete(membership)
    for project_id, role in wanted.items():
        found = held.get(project_id)
        if found is None:
            session.add(Membership(user_id=user.id, project_id=project_id, role=role.value,
                                   from_sign_on=True))  # fmt: skip
        elif found.from_sign_on:
            found.role = role.value


def _names(values: Any) -> frozenset[str]:
    items = values if isinstance(values, list) else []
    return frozenset(str(item)[:200] for item in items if isinstance(item, str | int))


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str) and value else None


def state_cookie_key(key: bytes) -> str:
    """The signing key of the short-lived sign-on cookie, derived from KEY."""
    return hashlib.sha256(b"repolens sign-on cookie\0" + key).hexdigest()
