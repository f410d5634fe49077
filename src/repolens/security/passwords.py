"""Users' passwords: hashed with Argon2id (argon2-cffi's defaults, which follow
RFC 9106's recommendation), never kept or logged in the clear."""

from __future__ import annotations

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
    """Whether PASSWORD is the one STORED was made from (never, without one)."""
    if not stored or len(password) > LONGEST:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
