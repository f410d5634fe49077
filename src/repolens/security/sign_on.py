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
from repolens.settings import Settings
from repolens.storage import pending, projects
from repolens.storage.models import Role, User

STATE_LASTS = timedelta(minutes=10)  # a sign-in not finished by then starts again
TIMEOUT = 10.0  # seconds, for each request to the provider
RANK = {Role.VIEWER: 1, Role.MAINTAINER: 2, Role.ADMIN: 3}
NAMES = {"oidc": "single sign-on", "github": "GitHub"}


class States:
    """Where authlib keeps a flow begun (its cache): the database every API
    process shares, each entry taken at most once."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> str | None:
        found = await run_in_threadpool(self._peek, key)
        return str(found["kept"]) if found else None

    async def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        await run_in_threadpool(self._put, key, value)

    async def delete(self, key: str) -> None:
        await run_in_threadpool(self._drop, key)

    def _peek(self, key: str) -> dict[str, Any] | None:
        with self.sessions() as session:
            return pending.peek(session, f"sso:{key}")

    def _put(self, key: str, value: str) -> None:
        with self.sessions.begin() as session:
            pending.put(session, f"sso:{key}", {"kept": value}, STATE_LASTS)

    def _drop(self, key: str) -> None:
        with self.sessions.begin() as session:
            pending.drop(session, f"sso:{key}")


def providers(settings: Settings, sessions: sessionmaker[Session]) -> OAuth:
    """The providers SETTINGS configure (none: single sign-on is off)."""
    oauth = OAuth(cache=States(sessions))
    if settings.oidc_issuer and settings.oidc_client_id:
        oauth.register(
            "oidc", client_id=settings.oidc_client_id,
            client_secret=_plain(settings.oidc_client_secret),
            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}"
                                "/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                           "timeout": TIMEOUT},
        )  # fmt: skip
    if settings.github_client_id:
        oauth.register(
            "github", client_id=settings.github_client_id,
            client_secret=_plain(settings.github_client_secret),
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
        claims = dict(token["userinfo"])
        if groups_claim not in claims:
            claims |= dict(await app.userinfo(token=token))
        return Claimant("oidc", str(claims["sub"]),
                        str(claims.get("preferred_username") or claims["sub"]),
                        _text(claims.get("email")), _text(claims.get("name")),
                        _names(claims.get(groups_claim)))  # fmt: skip
    user = (await app.get("user", token=token)).raise_for_status().json()
    orgs = (await app.get("user/orgs", token=token)).raise_for_status().json()
    logins = [org.get("login") for org in orgs if isinstance(org, dict)]
    return Claimant("github", str(int(user["id"])), str(user["login"]), _text(user.get("email")),
                    _text(user.get("name")), _names(logins))  # fmt: skip


def admit(session: Session, who: Claimant, settings: Settings) -> User:
    """The user WHO is here (made on their first sign-in), their roles raised to
    what their groups give; Forbidden when none of their groups is let in."""
    groups = sorted(set(settings.sso_roles) & who.groups)
    if not groups and (who.provider == "github" or settings.sso_roles):
        raise Forbidden(f"{NAMES[who.provider]} says you are in no group this server lets in")
    user = identity.external(session, who.provider, who.subject, who.username,
                             email=who.email, display_name=who.name,
                             tier=settings.default_tier)  # fmt: skip
    if user.disabled:
        raise Forbidden("this account is disabled")
    for group in groups:
        given = settings.sso_roles[group]
        if isinstance(given, str):
            user.admin = True
            continue
        for project_name, role in given.items():
            _raise_role(session, user, project_name, Role(role))
    session.flush()
    return user


def _raise_role(session: Session, user: User, project_name: str, role: Role) -> None:
    try:
        project = projects.by_name(session, project_name)
    except NotFoundError:
        return  # a group may name a project before it is added
    held = {m.project_id: Role(m.role) for m in user.memberships}.get(project.id)
    if held is None or RANK[held] < RANK[role]:
        identity.add_member(session, user.id, project.id, role)
        session.refresh(user)


def _names(values: Any) -> frozenset[str]:
    items = values if isinstance(values, list) else []
    return frozenset(str(item)[:200] for item in items if isinstance(item, str | int))


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str) and value else None


def _plain(secret: Any) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def state_cookie_key(key: bytes) -> str:
    """The signing key of the short-lived sign-on cookie, derived from KEY."""
    return hashlib.sha256(b"repolens sign-on cookie\0" + key).hexdigest()
