"""Browsers sign in: a login form that posts a username and password, and a
session cookie (HttpOnly, SameSite=Lax, Secure behind TLS) that stands for the
user until it expires or they sign out. The cookie is random and kept only as
a digest, so signing out (or disabling the user) makes it worthless at once."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from repolens.api import bodies
from repolens.api.deps import PUBLIC, SIGNED_IN, DbSession, spend
from repolens.errors import Forbidden, InputError
from repolens.security import access, audit, identity, sign_on
from repolens.security.policy import Principal
from repolens.security.quotas import Budget
from repolens.settings import Settings
from repolens.storage.models import User

router = APIRouter(tags=["sessions"])

FORM_BYTES = 4096  # a login form is a username and a password
LANDING = "/api/v1/me"
PAGE: dict[str, Any] = {"content": {"text/html": {}}}  # an error answered with the page again

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>repolens: sign in</title></head>
<body><main><h1>Sign in to repolens</h1>{problem}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<p><label>Username <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"
required></label></p>
<p><button type="submit">Sign in</button></p>
</form>{providers}</main></body></html>
"""

_ONCE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>repolens: sign in</title></head>
<body><main><h1>Sign in to repolens</h1>
<form method="post" action="/login/once"><input type="hidden" name="code" value="{code}">
<p><button type="submit">Sign in with this link</button></p></form></main></body></html>
"""


@router.get("/login", response_class=HTMLResponse, dependencies=PUBLIC)
def login_page(request: Request, next: str = LANDING) -> HTMLResponse:
    """The sign-in form (and the single sign-on providers configured)."""
    offered = sign_on.configured(request.app.state.settings)
    return sign_in_page(local_path(next), None, offered=offered)


@router.post("/login", response_class=HTMLResponse, dependencies=PUBLIC, responses={401: PAGE})
async def login(request: Request, session: DbSession) -> Response:
    """Check the posted username and password; on success, a new session (a
    new cookie, whatever the browser held before) and back to NEXT."""
    _same_origin(request)
    address = access.address(request.client)
    spend(request, Budget.API, f"address:{address}")  # guessing passwords
    form = await _form(request)
    username, password = form.get("username", ""), form.get("password", "")
    user = identity.signed_in(session, username, password)
    if user is None:
        audit.record(session, Principal("anonymous"), "login.failed", address=address,
                     target=username[:64])  # fmt: skip
        problem = "Wrong username or password."
        return sign_in_page(local_path(form.get("next", LANDING)), problem, 401)
    return signed_in(request, session, user, form.get("next", LANDING), "login")


@router.get("/login/once", response_class=HTMLResponse, dependencies=PUBLIC)
def link_page(code: str = "") -> HTMLResponse:
    """A one-time sign-in link's page: a button, so that a link preview fetching
    the page does not use the link up."""
    return HTMLResponse(_ONCE.format(code=html.escape(code[:100], quote=True)))


@router.post("/login/once", response_class=HTMLResponse, dependencies=PUBLIC,
             responses={401: PAGE})  # fmt: skip
async def link(request: Request, session: DbSession) -> Response:
    """Sign in with a one-time code (`repolens user link`, or the first start's)."""
    _same_origin(request)
    address = access.address(request.client)
    spend(request, Budget.API, f"address:{address}")
    user = identity.redeem_link(session, (await _form(request)).get("code", ""))
    if user is None:
        audit.record(session, Principal("anonymous"), "login.failed", address=address,
                     target="one-time link")  # fmt: skip
        return sign_in_page(LANDING, "That sign-in link is used up, expired or wrong.", 401)
    return signed_in(request, session, user, LANDING, "login.link")


def signed_in(request: Request, session: DbSession, user: User, next: str,
              action: str) -> Response:  # fmt: skip
    """A new browser session for USER (replacing the one the browser held, so a
    cookie planted before the sign-in is worthless), and back to NEXT."""
    settings: Settings = request.app.state.settings
    held = request.cookies.get(access.COOKIE)
    if held:
        identity.close_session(session, held)
    _, cookie = identity.open_session(session, user, timedelta(hours=settings.session_hours))
    audit.record(session, identity.principal(user), action,
                 address=access.address(request.client))  # fmt: skip
    answer = RedirectResponse(local_path(next), status.HTTP_303_SEE_OTHER)
    answer.set_cookie(access.COOKIE, cookie, max_age=settings.session_hours * 3600,
                      httponly=True, samesite="lax", secure=secure(request, settings),
                      path="/")  # fmt: skip
    return answer


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=SIGNED_IN)
def logout(request: Request, session: DbSession) -> Response:
    """End the browser's session (its CSRF token is needed, as for any change)."""
    cookie = request.cookies.get(access.COOKIE)
    if cookie:
        identity.close_session(session, cookie)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    answer.delete_cookie(access.COOKIE, path="/")
    return answer


def sign_in_page(next: str, problem: str | None, status_code: int = 200,
          offered: list[str] | None = None) -> HTMLResponse:  # fmt: skip
    said = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    there = html.escape(quote(next, safe="/"), quote=True)
    links = "".join(f'<p><a href="/login/{name}?next={there}">Sign in with '
                    f"{sign_on.NAMES[name]}</a></p>" for name in offered or [])  # fmt: skip
    return HTMLResponse(_PAGE.format(problem=said, next=html.escape(next, quote=True),
                                     providers=links), status_code=status_code)  # fmt: skip


def local_path(target: str) -> str:
    """TARGET when it is a path of this server; else the landing page (no
    redirect to another site through the login form)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return LANDING
    if "\\" in target or any(ord(c) < 32 for c in target):
        return LANDING
    return target


def _same_origin(request: Request) -> None:
    """A login posted from another site's page is refused (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("a sign-in must come from this server's own page")


async def _form(request: Request) -> dict[str, str]:
    body = await bodies.bounded(request, FORM_BYTES, "a sign-in form")
    try:
        fields = parse_qs(body.decode(), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise InputError("the sign-in form cannot be read") from None
    return {name: values[0] for name, values in fields.items() if values}


def secure(request: Request, settings: Settings) -> bool:
    """Secure behind TLS: this request came over https, or the public URL is one."""
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https://")
