"""Run a coroutine at once, in the caller, and make a task of it only if it
has to wait (what Python 3.12 calls an eager task).

Sending one WebSocket message usually finishes without waiting: the transport
takes the bytes. Waking a task per client per event to do it would cost more
than the send itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


def start(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run COROUTINE until it finishes (None) or first waits (the task that
    finishes it). What it raises before waiting is raised here."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(coroutine, waiting_on))


async def _finish(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Go on where COROUTINE stopped: wait for what it yielded, then resume it,
    as a task's step would. A future keeps its own outcome, which the coroutine
    reads when resumed, so an error or cancellation reaches it from there."""
    while True:
        if waiting_on is None:  # a bare yield: give the loop one turn
            await asyncio.sleep(0)
        else:
            # As a task does on taking a future a coroutine yielded: the future
            # is marked as waited on (and refuses a second waiter) until then.
            waiting_on._asyncio_future_blocking = False
            with contextlib.suppress(BaseException):
                await waiting_on
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return
