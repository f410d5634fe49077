"""The live channels as server-sent events (`/api/v1/events/{channel}`),
resumable with Last-Event-ID, and the live connections' statistics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from repolens.api.deps import SIGNED_IN, Caller, allow
from repolens.api.live import protocol, snapshots
from repolens.api.live.sockets import encode
from repolens.errors import InputError, NotFoundError, TooManyConnections
from repolens.numerals import whole
from repolens.realtime.events import Event, is_channel
from repolens.realtime.hub import History
from repolens.realtime.rooms import Message, Rooms, Subscriber
from repolens.security import access
from repolens.security.policy import Action

router = APIRouter(tags=["realtime"])


@router.get("/realtime/stats", dependencies=allow(Action.OPERATE))
def stats(request: Request) -> dict[str, Any]:
    rooms: Rooms = request.app.state.rooms
    return {"backend": rooms.hub.backend, **rooms.stats()}


@router.get("/events/{channel}", response_class=StreamingResponse, dependencies=SIGNED_IN)
async def server_sent_events(
    request: Request, channel: str, caller: Caller, last_event_id: str | None = Header(default=None)
) -> StreamingResponse:
    """The channel as `text/event-stream`: each event's id is `<epoch>:<seq>`,
    so a reconnecting client's Last-Event-ID resumes where it left off."""
    if not is_channel(channel):
        raise InputError(f"not a channel: {channel!r}")
    doors: access.Doors = request.app.state.doors
    if not await run_in_threadpool(doors.may_subscribe, caller, channel):
        raise NotFoundError(f"{channel} does not exist")  # or is not the caller's to hear
    state = await run_in_threadpool(snapshots.state, request.app.state.sessions, channel,
                                    caller.visible())  # fmt: skip
    if state is None:
        raise NotFoundError(f"{channel} does not exist")
    epoch, last_seq = _resume_point(last_event_id)
    admissions: access.Admissions = request.app.state.admissions
    address = access.address(request.client)
    if not admissions.enter(address):
        raise TooManyConnections()
    rooms: Rooms = request.app.state.rooms
    outbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=16)  # then the subscriber's backlog
    subscriber = rooms.subscriber(outbox.put)

    def preface(history: History) -> list[dict[str, Any]]:
        recovered = last_seq is not None and history.complete
        return [] if recovered else [protocol.said(snapshots.message(channel, history, state))]

    await subscriber.join(channel, last_seq, epoch, preface, access.admits(caller, channel))
    interval = request.app.state.settings.ws_ping_seconds
    return StreamingResponse(
        _stream(subscriber, outbox, rooms, interval, lambda: admissions.leave(address)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_point(last_event_id: str | None) -> tuple[str | None, int | None]:
    epoch, _, seq = (last_event_id or "").rpartition(":")
    return (epoch or None, int(seq)) if whole(seq) else (None, None)


async def _stream(subscriber: Subscriber, outbox: asyncio.Queue[Message], rooms: Rooms,
                  interval: float, closed: Callable[[], None]) -> AsyncIterator[str]:  # fmt: skip
    try:
        while not subscriber.done.done():
            try:
                message = await asyncio.wait_for(outbox.get(), interval)
            except TimeoutError:
                yield ": ping\n\n"  # keeps proxies from closing an idle stream
                continue
            if isinstance(message, Event):
                event_id = f"{message.epoch}:{message.seq}"
                yield f"id: {event_id}\nevent: {message.type}\ndata: {message.text}\n\n"
            else:
                yield f"event: {message['type']}\ndata: {encode(message)}\n\n"
    finally:
        rooms.forget(subscriber)
        closed()
