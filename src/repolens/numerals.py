"""Numbers as clients write them in headers and query strings.

`str.isdigit` is true for characters `int` will not read ("²", "٣"): a header
checked with it and then converted fails with a ValueError, a 500. Here only
ASCII digits count."""

from __future__ import annotations

_DIGITS = frozenset("0123456789")


def whole(value: str) -> bool:
    """Whether VALUE is a whole number written in ASCII digits (no sign, no space)."""
    return bool(value) and len(value) <= 18 and all(char in _DIGITS for char in value)
