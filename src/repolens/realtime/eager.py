"""Run a coroutine at once, in the caller, and make a task of it only if it
has to wait (what Python 3.12 calls an eager task; this runs on 3.11 too).

Sending one WebSocket message usually finishes without waiting: the transport
takes the bytes. Waking a task per client per event to do it would cost more
than the send itself."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Coroutine, Generator
from typing import Any


def start(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run COROUTINE until it finishes (None) or first waits (the task that
    finishes it). What it raises before waiting is raised here."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_Rest(coroutine, waiting_on))


class _Rest:
    """The rest of a coroutine that has already yielded once: awaited by a
    task, it hands the task what the coroutine yields (the future it waits
    on, as if the coroutine were the task's own) and hands the coroutine back
    what the task sends or throws in (a wake-up, the future's error, a
    cancellation). Only the coroutine protocol is used: send, throw, yield."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine, self.waiting_on = coroutine, waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        waiting_on = self.waiting_on
        while True:
            try:
                answer = yield waiting_on
            except BaseException as exc:  # thrown in by the task: the coroutine's to handle
                resume = functools.partial(self.coroutine.throw, exc)
            else:
                resume = functools.partial(self.coroutine.send, answer)
            try:
                waiting_on = resume()
            except StopIteration:
                return
