"""Browsers sign in: a login form that posts a username and password, and a
session cookie (HttpOnly, SameSite=Lax, Secure behind TLS) that stands for the
user until it expires or they sign out. The cookie is random and kept only as
a digest, so signing out (or disabling the user) makes it worthless at once."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from repolens.api import bodies
from repolens.api.deps import PUBLIC, SIGNED_IN, DbSession, spend
from repolens.errors import Forbidden, InputError
from repolens.security import access, audit, identity
from repolens.security.policy import Principal
from repolens.security.quotas import Budget
from repolens.settings import Settings

router = APIRouter(tags=["sessions"])

FORM_BYTES = 4096  # a login form is a username and a password
LANDING = "/api/v1/me"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>repolens: sign in</title></head>
<body><main><h1>Sign in to repolens</h1>{problem}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<p><label>Username <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"
required></label></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>
"""


@router.get("/login", response_class=HTMLResponse, dependencies=PUBLIC)
def login_page(next: str = LANDING) -> HTMLResponse:
    """The sign-in form."""
    return _page(_local(next), None)


@router.post("/login", response_class=HTMLResponse, dependencies=PUBLIC)
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
        return _page(_local(form.get("next", LANDING)), "Wrong username or password.", 401)
    settings: Settings = request.app.state.settings
    held = request.cookies.get(access.COOKIE)
    if held:  # a sign-in replaces the session the browser held: a fixed cookie is worthless
        identity.close_session(session, held)
    _, cookie = identity.open_session(session, user, timedelta(hours=settings.session_hours))
    audit.record(session, identity.principal(user), "login", address=address)
    answer = RedirectResponse(_local(form.get("next", LANDING)), status.HTTP_303_SEE_OTHER)
    answer.set_cookie(access.COOKIE, cookie, max_age=settings.session_hours * 3600,
                      httponly=True, samesite="lax", secure=_secure(request, settings),
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


def _page(next: str, problem: str | None, status_code: int = 200) -> HTMLResponse:
    said = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    return HTMLResponse(_PAGE.format(problem=said, next=html.escape(next, quote=True)),
                        status_code=status_code)  # fmt: skip


def _local(target: str) -> str:
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


def _secure(request: Request, settings: Settings) -> bool:
    """Secure behind TLS: this request came over https, or the public URL is one."""
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https://")
