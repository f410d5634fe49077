"""A small real identity provider on loopback: OpenID Connect (discovery, an
authorization endpoint that signs in whoever `who` says, a token endpoint that
checks the client, the redirect URI and the PKCE verifier, and spends each code
once, RS256 ID tokens, keys and userinfo) and GitHub's OAuth web flow with its
`/user` and `/user/orgs`. What it was asked is recorded; a test may make it
put another nonce in its ID tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID, CLIENT_SECRET = "repolens-test", "test-client-secret"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    who: dict[str, Any]
    spent: bool = False


@dataclass
class IdentityProvider:
    who: dict[str, Any] = field(default_factory=dict)  # the user who signs in next
    orgs: list[str] = field(default_factory=list)  # their GitHub organisations
    nonce: str | None = None  # when set, ID tokens carry this nonce instead of the asked one
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why token requests were refused
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    url: str = ""

    def serve(self) -> ThreadingHTTPServer:
        provider = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with lock:
                    provider.asked.append((parts.path, query))
                    self._answer(*provider.get(parts.path, query, self.headers))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                with lock:
                    provider.asked.append((self.path, form))
                    self._answer(*provider.post(self.path, form, self.headers))

            def _answer(self, status: int, body: Any, location: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def get(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, Any, str | None]:
        if path == "/.well-known/openid-configuration":
            return 200, {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                         "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                         "userinfo_endpoint": f"{self.url}/userinfo",
                         "id_token_signing_alg_values_supported": ["RS256"],
                         "code_challenge_methods_supported": ["S256"]}, None  # fmt: skip
        if path in ("/authorize", "/login/oauth/authorize"):
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(query.get("client_id", ""), query.get("redirect_uri", ""),
                                      query.get("code_challenge", ""), query.get("nonce"),
                                      dict(self.who))  # fmt: skip
            back = urlencode({"code": code, "state": query.get("state", "")})
            return 302, {}, f"{query.get('redirect_uri', '')}?{back}"
        if path == "/jwks":
            return 200, {"keys": [self.key.as_dict(private=False)]}, None
        who = self.tokens.get(headers.get("Authorization", "").removeprefix("Bearer "))
        if who is None:
            return 401, {"message": "Bad credentials"}, None
        if path == "/userinfo":
            return 200, who, None
        if path == "/api/user":
            return 200, {"id": who["id"], "login": who["login"], "name": who.get("name"),
                         "email": who.get("email")}, None  # fmt: skip
        if path == "/api/user/orgs":
            return 200, [{"login": org, "id": n} for n, org in enumerate(self.orgs)], None
        return 404, {"message": "Not Found"}, None

    def post(self, path: str, form: dict[str, str], headers: Any) -> tuple[int, Any, None]:
        if path not in ("/token", "/login/oauth/access_token"):
            return 404, {"message": "Not Found"}, None
        client_id, secret = _client(form, headers)
        grant = self.grants.get(form.get("code", ""))
        problem = (
            "unknown code" if grant is None
            else "code already used" if grant.spent
            else "wrong client" if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET)
            else "wrong redirect_uri" if form.get("redirect_uri") != grant.redirect_uri
            else "wrong code_verifier" if _s256(form.get("code_verifier", "")) != grant.challenge
            else None
        )  # fmt: skip
        if problem is not None or grant is None:
            self.refused.append(problem or "?")
            return 400, {"error": "invalid_grant", "error_description": problem}, None
        grant.spent = True
        access = secrets.token_urlsafe(16)
        self.tokens[access] = grant.who
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                  "expires_in": 3600}  # fmt: skip
        if path == "/token":
            now = int(time.time())
            claims = {**grant.who, "iss": self.url, "aud": CLIENT_ID, "iat": now,
                      "exp": now + 300, "nonce": self.nonce or grant.nonce}  # fmt: skip
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
        return 200, answer, None


def _client(form: dict[str, str], headers: Any) -> tuple[str, str]:
    basic = headers.get("Authorization", "")
    if basic.startswith("Basic "):
        client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
