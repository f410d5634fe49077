"""Request bodies read under a limit: what a client declares and what it sends
are both held to it, before anything parses a byte."""

from __future__ import annotations

from fastapi import Request

from repolens.errors import TooLarge
from repolens.numerals import whole


async def bounded(request: Request, limit: int, what: str) -> bytes:
    """REQUEST's body, at most LIMIT bytes; TooLarge (413) naming WHAT beyond."""
    declared = request.headers.get("content-length", "")
    if whole(declared) and int(declared) > limit:
        raise TooLarge(f"{what} may be at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"{what} may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
