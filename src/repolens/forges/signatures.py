"""Is a delivery from the forge? Each forge's proof, checked against the raw
body before anything parses it, in constant time.

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
- Gitea and Forgejo: `X-Gitea-Signature` (or `X-Forgejo-Signature`): the same
  HMAC, as bare hex.
- GitLab: `X-Gitlab-Token`: the secret itself, as configured on the hook."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(secrets: Iterable[str], body: bytes, header: str | None) -> bool:
    """Whether HEADER signs BODY with one of SECRETS."""
    if not header or not header.startswith("sha256="):
        return False
    return _matches(header.removeprefix("sha256="), body, secrets)


def gitea(secrets: Iterable[str], body: bytes, header: str | None) -> bool:
    return bool(header) and _matches(header or "", body, secrets)


def gitlab(secrets: Iterable[str], header: str | None) -> bool:
    if not header:
        return False
    given = _bytes(header)
    return any(hmac.compare_digest(given, secret.encode()) for secret in secrets)


def _matches(given: str, body: bytes, secrets: Iterable[str]) -> bool:
    """Whether GIVEN is BODY's HMAC under one of SECRETS, compared as bytes: a
    header may hold any character, and only ASCII can match."""
    wanted = _bytes(given.strip().lower())
    return any(hmac.compare_digest(wanted, hmac_sha256(secret, body).encode())
               for secret in secrets)  # fmt: skip


def _bytes(header: str) -> bytes:
    """A header's value as the bytes it came in (HTTP headers are Latin-1)."""
    return header.encode("latin-1", errors="replace")
