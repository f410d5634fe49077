"""Users' passwords: hashed with Argon2id (argon2-cffi's defaults, which follow
RFC 9106's recommendation), never kept or logged in the clear."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from repolens.errors import Refused

_HASHER = PasswordHasher()
SHORTEST = 12  # characters a new password must have at least
LONGEST = 1024  # past this, hashing is only a way to spend the server's time


def hashed(password: str) -> str:
    """The hash to store for PASSWORD, refused when it is too short or too long."""
    if not SHORTEST <= len(password) <= LONGEST:
        raise Refused(f"a password must have {SHORTEST} to {LONGEST} characters",
                      field="password")  # fmt: skip
    return _HASHER.hash(password)


def matches(stored: str | None, password: str) -> bool:
    """Whether PASSWORD is the one STORED was made from (never, without one).
    Without one, a hash is checked all the same: an unknown username, or a user
    with no password, takes as long to refuse as a wrong password."""
    if len(password) > LONGEST:
        return False
    try:
        return _HASHER.verify(stored or _decoy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))
