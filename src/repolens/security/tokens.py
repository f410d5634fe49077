"""API tokens: random, shown once, kept only as a digest.

A token reads `rlpat_` and 40 letters and digits. The prefix makes a leaked one
easy to find for secret scanners (repolens's own included) and tells it apart
from `REPOLENS_API_TOKEN` at a glance. The token is 238 bits of randomness, so
its SHA-256 digest is all that is needed to find it again: no salt, no slow
hash, and nothing stored that could be used in its place."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

PREFIX = "rlpat_"
_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 40
SHAPE = re.compile(rf"{PREFIX}[A-Za-z0-9]{{{_LENGTH}}}")


def mint() -> str:
    """A new token."""
    return PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hint(token: str) -> str:
    """What a list of tokens shows of one: the prefix and four characters."""
    return token[: len(PREFIX) + 4]


def is_token(text: str) -> bool:
    """Whether TEXT has the shape of a repolens API token."""
    return SHAPE.fullmatch(text) is not None
