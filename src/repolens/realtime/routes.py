"""WebSocket and SSE endpoints.

`/ws` speaks the JSON protocol (auth, subscribe with resume, unsubscribe, ping);
`/ws/runs/{id}` (alias `/ws/run/{id}`), `/ws/tasks/{id}` and `/ws/dashboard`
are the seeds' fixed-channel paths; `/api/v1/events/{channel}` is the same
stream as server-sent events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute

from repolens.api import deps
from repolens.errors import InputError, NotFoundError, TooManyConnections
from repolens.realtime import access, snapshots
from repolens.realtime.events import TERMINAL, Event, is_channel
from repolens.realtime.hub import History
from repolens.realtime.rooms import SLOW_CONSUMER, Message, Rooms, Subscriber

UNAUTHORISED = 4401
TOO_MANY = 4429

api = APIRouter(dependencies=[Depends(deps.authorised)], tags=["realtime"])

Translate = Callable[[Message], list[str]]  # a message as the texts a client is sent


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _wire(message: Message) -> list[str]:
    return [message.text if isinstance(message, Event) else _encode(message)]


class Link:
    """One WebSocket connection: authentication and the client's messages; its
    subscriber sends to it (`_write`) until the client goes away, falls too far
    behind or cannot be sent to."""

    def __init__(self, websocket: WebSocket, translate: Translate = _wire) -> None:
        self.websocket = websocket
        self.app = websocket.app
        self.rooms: Rooms = websocket.app.state.rooms
        self.translate = translate
        self.subscriber = self.rooms.subscriber(self._write)
        self.principal: access.Principal | None = None

    async def open(self, require_auth: bool) -> bool:
        """Accept, and authenticate from the header or subprotocol; with
        REQUIRE_AUTH, wait for an `auth` message when neither carried a token."""
        offered = self.websocket.scope.get("subprotocols", [])
        token = access.bearer(self.websocket.headers.get("authorization"))
        token = token or access.from_subprotocols(offered)
        chosen = access.SUBPROTOCOL if access.SUBPROTOCOL in offered else None
        await self.websocket.accept(subprotocol=chosen)
        self.principal = access.authenticate(self.app.state.settings, token)
        if self.principal is None and token is not None:
            await self.websocket.close(UNAUTHORISED, "invalid token")
            return False
        if self.principal is None and require_auth:
            try:
                first = await asyncio.wait_for(self.websocket.receive_json(), self._patience)
            except (TimeoutError, ValueError):
                first = {}
            if not await self._auth(first if isinstance(first, dict) else {}):
                return False
        return True

    async def run(self, protocol: bool = True) -> None:
        """Serve until the client leaves, falls behind or cannot be sent to;
        PROTOCOL False answers pings only (the fixed-channel paths). Sending
        happens in the subscriber, as events arrive."""
        receiving = asyncio.create_task(self._receive(protocol))
        watching = asyncio.create_task(self._authenticated_in_time())
        try:
            await asyncio.wait([receiving, watching, self.subscriber.done],
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            receiving.cancel()
            watching.cancel()
        if self.subscriber.slow:
            # No more events: the close frame goes next, once the client reads
            # what is already on its way (for up to a ping interval).
            self.subscriber.close()
            with contextlib.suppress(Exception):
                reason = f"slow consumer: more than {self.subscriber.size} events unread"
                patience = self.app.state.settings.ws_ping_seconds
                await asyncio.wait_for(self.websocket.close(SLOW_CONSUMER, reason), patience)

    @property
    def _patience(self) -> float:
        seconds: float = self.app.state.settings.ws_auth_seconds
        return seconds

    async def _authenticated_in_time(self) -> None:
        """Close the connection if it has not authenticated within the patience
        the settings give; otherwise wait with it until it ends."""
        if self.principal is None:
            await asyncio.sleep(self._patience)
        if self.principal is None:
            with contextlib.suppress(Exception):
                await self.websocket.close(UNAUTHORISED, "authentication required")
            return
        await self.subscriber.done

    async def subscribe(self, channel: str, last_seq: int | None = None, epoch: str | None = None,
                        request_id: Any = None) -> dict[str, Any] | None:  # fmt: skip
        """Join CHANNEL and queue the acknowledgement (and snapshot); returns the
        error message instead when the subscription is refused."""
        if not is_channel(channel):
            return _error(request_id, "invalid", f"not a channel: {channel!r}")
        if not access.may_subscribe(self.principal, channel):
            return _error(request_id, "forbidden", f"not allowed to subscribe to {channel}")
        sessions = self.app.state.sessions
        state = await run_in_threadpool(snapshots.state, sessions, channel)
        if state is None:
            return _error(request_id, "not_found", f"{channel} does not exist")

        def preface(history: History) -> list[dict[str, Any]]:
            recovered = last_seq is not None and history.complete
            ack = {"type": "subscribed", "id": request_id, "channel": channel,
                   "epoch": history.epoch, "seq": history.last_seq}  # fmt: skip
            said: list[dict[str, Any]] = [{**ack, "recovered": recovered}]
            if not recovered:
                said.append(_snapshot(channel, history, state))
            return said

        await self.subscriber.join(channel, last_seq, epoch, preface)
        return None

    def _refuse(self, request_id: Any, code: str, message: str) -> None:
        self.subscriber.say(_error(request_id, code, message))

    async def _auth(self, message: dict[str, Any]) -> bool:
        token = message.get("token") if message.get("type") == "auth" else None
        self.principal = access.authenticate(self.app.state.settings, token)
        if self.principal is None:
            await self.websocket.close(UNAUTHORISED, "authentication required")
            return False
        self.subscriber.say({"type": "authenticated"})
        return True

    async def _write(self, message: Message) -> None:
        for text in self.translate(message):
            await self.websocket.send_text(text)

    async def _receive(self, protocol: bool) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self.websocket.receive_text()
                if text.strip() == "ping":
                    self.subscriber.say({"type": "pong"})
                    continue
                try:
                    message = json.loads(text)
                except ValueError:
                    message = None
                if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                    self._refuse(None, "bad_request", "messages are JSON objects with a type")
                    continue
                if protocol:
                    await self._protocol(message)
                elif message["type"] == "ping":
                    self.subscriber.say({"type": "pong"})

    async def _protocol(self, message: dict[str, Any]) -> None:
        kind, request_id = message["type"], message.get("id")
        channel = message.get("channel")
        if kind == "ping":
            self.subscriber.say({"type": "pong", "id": request_id})
        elif kind == "auth":
            await self._auth(message)
        elif kind == "subscribe" and isinstance(channel, str):
            last_seq = message.get("last_seq")
            if last_seq is not None and not (isinstance(last_seq, int) and last_seq >= 0):
                self._refuse(request_id, "bad_request", "last_seq must be a whole number")
                return
            epoch = message.get("epoch")
            refused = await self.subscribe(channel, last_seq,
                                           epoch if isinstance(epoch, str) else None,
                                           request_id)  # fmt: skip
            if refused is not None:
                self.subscriber.say(refused)
        elif kind == "unsubscribe" and isinstance(channel, str):
            self.subscriber.leave(channel)
            self.subscriber.say({"type": "unsubscribed", "id": request_id, "channel": channel})
        else:
            self._refuse(request_id, "bad_request", f"unknown message {kind!r} or no channel")


def _snapshot(channel: str, history: History, state: dict[str, Any]) -> dict[str, Any]:
    return {"type": "snapshot", "channel": channel, "epoch": history.epoch,
            "seq": history.last_seq, "data": state}  # fmt: skip


def _error(request_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": request_id, "code": code, "message": message}


REFUSED = {"invalid": 4400, "forbidden": 4403, "not_found": 4404}


@contextlib.asynccontextmanager
async def _linked(websocket: WebSocket, translate: Translate = _wire) -> AsyncIterator[Link | None]:
    """A Link whose subscriber leaves every room however the connection ends;
    a client address at its cap of connections is refused first."""
    admissions: access.Admissions = websocket.app.state.admissions
    address = websocket.client.host if websocket.client else "?"
    if not admissions.enter(address):
        await websocket.accept()
        await websocket.close(TOO_MANY, "too many connections from this address")
        yield None
        return
    link = Link(websocket, translate)
    try:
        yield link
    finally:
        link.rooms.forget(link.subscriber)
        admissions.leave(address)


async def socket(websocket: WebSocket) -> None:
    async with _linked(websocket) as link:
        if link is not None and await link.open(require_auth=False):
            link.subscriber.say({"type": "welcome", "v": 1})
            await link.run()


async def _fixed(websocket: WebSocket, channels: list[str], translate: Translate = _wire,
                 resumable: bool = False) -> None:  # fmt: skip
    """A fixed-channel path; a RESUMABLE one takes `?last_seq=N&epoch=E`, as on `/ws`."""
    last_seq = websocket.query_params.get("last_seq") if resumable else None
    epoch = websocket.query_params.get("epoch") if resumable else None
    async with _linked(websocket, translate) as link:
        if link is None or not await link.open(require_auth=True):
            return
        if last_seq is not None and not last_seq.isdigit():
            await websocket.close(REFUSED["invalid"], "last_seq must be a whole number")
            return
        for channel in channels:
            refused = await link.subscribe(channel, None if last_seq is None else int(last_seq),
                                           epoch)  # fmt: skip
            if refused is not None:
                await websocket.send_json(refused)
                await websocket.close(REFUSED[refused["code"]], refused["message"][:120])
                return
        await link.run(protocol=False)


async def run_socket(websocket: WebSocket) -> None:
    await _fixed(websocket, [f"run:{websocket.path_params['run_id']}"], resumable=True)


async def dashboard_socket(websocket: WebSocket) -> None:
    user_id = websocket.path_params.get("user_id")
    await _fixed(websocket, ["global"] + ([f"user:{user_id}"] if user_id else []))


async def task_socket(websocket: WebSocket) -> None:
    """The seeds' task protocol: connected, progress, completed, failed, pong."""
    task_id: int = websocket.path_params["task_id"]

    def legacy(message: Message) -> list[str]:
        if isinstance(message, Event):
            said = _task_message(task_id, message.type, message.data)
        elif message.get("type") != "snapshot":
            said = [message] if message.get("type") in ("pong", "error") else []
        else:
            run = message["data"]["run"]
            connected = {"type": "connected", "task_id": task_id, "status": run["status"],
                         "progress": run["progress"]}  # fmt: skip
            # A client that comes after the end still hears how it ended.
            ended = TERMINAL.get(run["status"])
            said = [connected, *(_task_message(task_id, ended, run) if ended else [])]
        return [_encode(each) for each in said]

    await _fixed(websocket, [f"run:{task_id}"], legacy)


# Plain routes: the WebSocket endpoints take no dependencies, and each open
# connection then holds only what it needs.
sockets = [
    WebSocketRoute("/ws", socket),
    WebSocketRoute("/ws/runs/{run_id:int}", run_socket),
    WebSocketRoute("/ws/run/{run_id:int}", run_socket),
    WebSocketRoute("/ws/tasks/{task_id:int}", task_socket),
    WebSocketRoute("/ws/dashboard", dashboard_socket),
    WebSocketRoute("/ws/dashboard/{user_id:int}", dashboard_socket),
]


def _task_message(task_id: int, type: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """A run event as the seeds' task protocol says it (nothing, for the rest)."""
    if type in ("run.started", "run.progress", "run.step"):
        return [{"type": "progress", "task_id": task_id, "status": "running",
                 "progress": data.get("percent", data.get("progress", 0)),
                 "step": data.get("step"), "message": data.get("message")}]  # fmt: skip
    if type == "run.completed":
        return [{"type": "completed", "task_id": task_id, "result": data.get("summary")}]
    if type in ("run.failed", "run.cancelled"):
        return [{"type": "failed", "task_id": task_id, "status": data.get("status"),
                 "error": data.get("error") or data.get("status")}]  # fmt: skip
    return []


@api.get("/realtime/stats")
def stats(request: Request) -> dict[str, Any]:
    rooms: Rooms = request.app.state.rooms
    return {"backend": rooms.hub.backend, **rooms.stats()}


@api.get("/events/{channel}", response_class=StreamingResponse)
async def server_sent_events(
    request: Request, channel: str, last_event_id: str | None = Header(default=None)
) -> StreamingResponse:
    """The channel as `text/event-stream`: each event's id is `<epoch>:<seq>`,
    so a reconnecting client's Last-Event-ID resumes where it left off."""
    if not is_channel(channel):
        raise InputError(f"not a channel: {channel!r}")
    state = await run_in_threadpool(snapshots.state, request.app.state.sessions, channel)
    if state is None:
        raise NotFoundError(f"{channel} does not exist")
    epoch, last_seq = _resume_point(last_event_id)
    admissions: access.Admissions = request.app.state.admissions
    address = request.client.host if request.client else "?"
    if not admissions.enter(address):
        raise TooManyConnections()
    rooms: Rooms = request.app.state.rooms
    outbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=16)  # then the subscriber's backlog
    subscriber = rooms.subscriber(outbox.put)

    def preface(history: History) -> list[dict[str, Any]]:
        recovered = last_seq is not None and history.complete
        return [] if recovered else [_snapshot(channel, history, state)]

    await subscriber.join(channel, last_seq, epoch, preface)
    interval = request.app.state.settings.ws_ping_seconds
    return StreamingResponse(
        _stream(subscriber, outbox, rooms, interval, lambda: admissions.leave(address)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_point(last_event_id: str | None) -> tuple[str | None, int | None]:
    epoch, _, seq = (last_event_id or "").rpartition(":")
    return (epoch or None, int(seq)) if seq.isdigit() else (None, None)


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
                yield f"event: {message['type']}\ndata: {_encode(message)}\n\n"
    finally:
        rooms.forget(subscriber)
        closed()
