"""The WebSocket endpoints.

`/ws` speaks the protocol (`protocol`: auth, subscribe with resume,
unsubscribe, ping); `/ws/runs/{id}` (alias `/ws/run/{id}`), `/ws/tasks/{id}`
and `/ws/dashboard` are the seeds' fixed-channel paths."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from repolens.api.live import protocol, snapshots, tasks
from repolens.api.live.protocol import Error, RequestId
from repolens.numerals import whole
from repolens.realtime.events import Event, is_channel
from repolens.realtime.hub import History
from repolens.realtime.rooms import SLOW_CONSUMER, Message, Rooms
from repolens.security import access
from repolens.security.policy import Principal

UNAUTHORISED = 4401
TOO_MANY = 4429
FLOODING = 1008  # policy violation: a socket that goes on sending after being told to stop
REFUSED = {"invalid": 4400, "forbidden": 4403, "not_found": 4404}  # close codes, fixed paths

Translate = Callable[[Message], list[str]]  # a message as the texts a client is sent


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _wire(message: Message) -> list[str]:
    return [message.text if isinstance(message, Event) else encode(message)]


def _say(link: Link, message: protocol.ServerMessage) -> None:
    link.subscriber.say(protocol.said(message))


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
        self.doors: access.Doors = websocket.app.state.doors
        self.principal: Principal | None = None
        self.messages = websocket.app.state.quotas.messages()  # what this socket may send
        self.dropped = 0

    async def open(self, require_auth: bool) -> bool:
        """Accept, and authenticate from the header or subprotocol; with
        REQUIRE_AUTH, wait for an `auth` message when neither carried a token."""
        offered = self.websocket.scope.get("subprotocols", [])
        token = access.bearer(self.websocket.headers.get("authorization"))
        token = token or access.from_subprotocols(offered)
        chosen = access.SUBPROTOCOL if access.SUBPROTOCOL in offered else None
        await self.websocket.accept(subprotocol=chosen)
        self.principal = await run_in_threadpool(self.doors.principal, token)
        if self.principal is None and token is not None:
            await self.websocket.close(UNAUTHORISED, "invalid token")
            return False
        if self.principal is None and require_auth:
            try:
                first = protocol.parse(
                    await asyncio.wait_for(self.websocket.receive_text(), self._patience)
                )
            except (TimeoutError, KeyError):  # no text within the patience, or a binary frame
                first = Error(code="bad_request", message="no auth message")
            if not await self._auth(first if isinstance(first, protocol.Auth) else None):
                return False
        return True

    async def run(self, protocol_spoken: bool = True) -> None:
        """Serve until the client leaves, falls behind or cannot be sent to;
        PROTOCOL_SPOKEN False answers pings only (the fixed-channel paths).
        Sending happens in the subscriber, as events arrive."""
        receiving = asyncio.create_task(self._receive(protocol_spoken))
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
    def _unread(self) -> int:
        """Messages the server may hold for this client before it counts as not
        reading: a full backlog of events and a channel's whole history."""
        return int(self.subscriber.size + self.app.state.settings.events_history)

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
                        request_id: RequestId = None) -> Error | None:  # fmt: skip
        """Join CHANNEL and queue the acknowledgement (and snapshot); returns the
        refusal instead when the subscription is refused."""
        if not is_channel(channel):
            return Error(id=request_id, code="invalid", message=f"not a channel: {channel!r}")
        allowed = self.principal is not None and await run_in_threadpool(
            self.doors.may_subscribe, self.principal, channel
        )
        if self.principal is None or (not allowed and not channel.startswith(("run:", "project:"))):
            return Error(id=request_id, code="forbidden",
                         message=f"not allowed to subscribe to {channel}")  # fmt: skip
        state = None
        if allowed:  # a run or project hidden from the caller does not exist for it
            state = await run_in_threadpool(snapshots.state, self.app.state.sessions, channel,
                                            self.principal.visible())  # fmt: skip
        if state is None:
            return Error(id=request_id, code="not_found", message=f"{channel} does not exist")

        def preface(history: History) -> list[dict[str, Any]]:
            recovered = last_seq is not None and history.complete
            ack = protocol.Subscribed(id=request_id, channel=channel, epoch=history.epoch,
                                      seq=history.last_seq, recovered=recovered)  # fmt: skip
            said: list[protocol.ServerMessage] = [ack]
            if not recovered:
                said.append(snapshots.message(channel, history, state))
            return [protocol.said(each) for each in said]

        await self.subscriber.join(channel, last_seq, epoch, preface,
                                   access.admits(self.principal, channel))  # fmt: skip
        return None

    async def _auth(self, message: protocol.Auth | None) -> bool:
        token = message.token if message is not None else None
        self.principal = await run_in_threadpool(self.doors.principal, token)
        if self.principal is None:
            await self.websocket.close(UNAUTHORISED, "authentication required")
            return False
        _say(self, protocol.Authenticated())
        return True

    async def _write(self, message: Message) -> None:
        for text in self.translate(message):
            await self.websocket.send_text(text)

    async def _receive(self, protocol_spoken: bool) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self.websocket.receive_text()
                if not self.messages.spend():
                    if not await self._dropped():
                        return
                    continue
                self.dropped = 0
                if len(self.subscriber.backlog) > self._unread:  # asks, and never reads
                    self.subscriber.slow = True
                    return
                message = protocol.parse(text)
                if isinstance(message, Error):
                    _say(self, message)
                elif isinstance(message, protocol.Ping):
                    _say(self, protocol.Pong(id=message.id))
                elif protocol_spoken:
                    await self._answer(message)

    async def _dropped(self) -> bool:
        """Tell the client its message was dropped; close the socket of one that
        sends as many again, each dropped, after being told (False then)."""
        self.dropped += 1
        if self.dropped > self.messages.limit:
            with contextlib.suppress(Exception):
                await self.websocket.close(FLOODING, "too many messages")
            return False
        _say(self, Error(code="rate_limited", message=f"more than {self.messages.rate} messages; "
                         "this one was dropped"))  # fmt: skip
        return True

    async def _answer(self, message: protocol.ClientMessage) -> None:
        match message:
            case protocol.Auth():
                await self._auth(message)
            case protocol.Subscribe(channel=channel, last_seq=last_seq, epoch=epoch, id=asked):
                refused = await self.subscribe(channel, last_seq, epoch, asked)
                if refused is not None:
                    _say(self, refused)
            case protocol.Unsubscribe(channel=channel, id=asked):
                self.subscriber.leave(channel)
                _say(self, protocol.Unsubscribed(id=asked, channel=channel))


@contextlib.asynccontextmanager
async def _linked(websocket: WebSocket, translate: Translate = _wire) -> AsyncIterator[Link | None]:
    """A Link whose subscriber leaves every room however the connection ends;
    a client address at its cap of connections is refused first."""
    admissions: access.Admissions = websocket.app.state.admissions
    address = access.address(websocket.client)
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
            _say(link, protocol.Welcome())
            await link.run()


async def _fixed(websocket: WebSocket, channels: list[str], translate: Translate = _wire,
                 resumable: bool = False) -> None:  # fmt: skip
    """A fixed-channel path; a RESUMABLE one takes `?last_seq=N&epoch=E`, as on `/ws`."""
    last_seq = websocket.query_params.get("last_seq") if resumable else None
    epoch = websocket.query_params.get("epoch") if resumable else None
    async with _linked(websocket, translate) as link:
        if link is None or not await link.open(require_auth=True):
            return
        if last_seq is not None and not whole(last_seq):
            await websocket.close(REFUSED["invalid"], "last_seq must be a whole number")
            return
        for channel in channels:
            refused = await link.subscribe(channel, None if last_seq is None else int(last_seq),
                                           epoch)  # fmt: skip
            if refused is not None:
                await websocket.send_json(protocol.said(refused))
                await websocket.close(REFUSED[refused.code], refused.message[:120])
                return
        await link.run(protocol_spoken=False)


async def run_socket(websocket: WebSocket) -> None:
    await _fixed(websocket, [f"run:{websocket.path_params['run_id']}"], resumable=True)


async def dashboard_socket(websocket: WebSocket) -> None:
    user_id = websocket.path_params.get("user_id")
    await _fixed(websocket, ["global"] + ([f"user:{user_id}"] if user_id else []))


async def task_socket(websocket: WebSocket) -> None:
    """The seeds' task protocol (`tasks`): connected, progress, completed, failed, pong."""
    task_id: int = websocket.path_params["task_id"]
    await _fixed(websocket, [f"run:{task_id}"], tasks.translator(task_id, encode))


# Plain routes: the WebSocket endpoints take no dependencies, and each open
# connection then holds only what it needs.
routes = [
    WebSocketRoute("/ws", socket),
    WebSocketRoute("/ws/runs/{run_id:int}", run_socket),
    WebSocketRoute("/ws/run/{run_id:int}", run_socket),
    WebSocketRoute("/ws/tasks/{task_id:int}", task_socket),
    WebSocketRoute("/ws/dashboard", dashboard_socket),
    WebSocketRoute("/ws/dashboard/{user_id:int}", dashboard_socket),
]
