"""Single sign-on's two doors: `/login/{provider}` sends the browser to the
provider, and its callback signs them in here once authlib has verified what
came back (`security.sign_on`). Anything the callback cannot verify (a forged
or reused state, a code the provider refuses, an ID token for another nonce)
is a 400, and a failed login in the audit log."""

from __future__ import annotations

import httpx
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Request, Response
from joserfc.errors import JoseError

from repolens.api.deps import PUBLIC, DbSession, spend
from repolens.api.routes.sessions import LANDING, PAGE, local_path, sign_in_page, signed_in
from repolens.errors import Forbidden
from repolens.security import access, audit, sign_on
from repolens.security.policy import Principal
from repolens.security.quotas import Budget
from repolens.settings import Settings

router = APIRouter(tags=["sessions"])

NEXT = "repolens.next"  # where to land after, kept in the signed sign-on cookie


@router.get("/login/{provider}", dependencies=PUBLIC)
async def begin(provider: str, request: Request, next: str = LANDING) -> Response:
    """Off to PROVIDER to sign in; it sends the browser back to the callback."""
    app = sign_on.client(request.app.state.sign_on, provider)
    spend(request, Budget.API, f"address:{access.address(request.client)}")
    request.session[NEXT] = local_path(next)
    answer: Response = await app.authorize_redirect(request, _callback(request, provider))
    return answer


@router.get("/login/{provider}/callback", name="sign_on_callback", dependencies=PUBLIC,
            responses={400: PAGE, 403: PAGE})  # fmt: skip
async def callback(provider: str, request: Request, session: DbSession) -> Response:
    """Back from PROVIDER: verified, the user is signed in (made, on their first time)."""
    app = sign_on.client(request.app.state.sign_on, provider)
    address = access.address(request.client)
    spend(request, Budget.API, f"address:{address}")
    settings: Settings = request.app.state.settings
    try:
        token = await app.authorize_access_token(request)
        who = await sign_on.claimant(provider, app, token, settings.oidc_groups_claim)
    except (AuthlibBaseError, JoseError, httpx.HTTPError, KeyError, TypeError, ValueError):
        audit.record(session, Principal("anonymous"), "login.failed", address=address,
                     target=provider)  # fmt: skip
        return sign_in_page(LANDING, f"The sign-in through {sign_on.NAMES[provider]} could "
                            "not be verified. Start it again.", 400)  # fmt: skip
    try:
        user = sign_on.admit(session, who, settings)
    except Forbidden as refused:
        audit.record(session, Principal("anonymous"), "login.refused", address=address,
                     target=f"{provider}:{who.username}"[:64])  # fmt: skip
        return sign_in_page(LANDING, refused.message, 403)
    return signed_in(request, session, user, request.session.pop(NEXT, LANDING), "login.sso")


def _callback(request: Request, provider: str) -> str:
    """Where the provider sends the browser back: under the public URL when one
    is set (the address the provider has registered), else this request's."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return f"{settings.public_url.rstrip('/')}/login/{provider}/callback"
    return str(request.url_for("sign_on_callback", provider=provider))
