"""This process's side of the fan-out: which connection listens to which
channel, a bounded queue per connection, and the counters behind
`/api/v1/realtime/stats`.

Every event the hub hears is handed to the event loop and offered to the
members of its channel. A connection whose backlog is full is a consumer that
does not read: it is marked and closed, so the server's memory stays bounded.
Each connection keeps the order per channel: it skips what it already sent
and fills a gap in `seq` from the hub's history. A connection may hear only
part of a channel (`global`, of the projects its caller sees): what it may not
hear still moves its place in the channel on, so it is no gap."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from repolens.realtime import eager
from repolens.realtime.events import Event
from repolens.realtime.hub import History, Hub

SLOW_CONSUMER = 4008


@dataclass
class Counters:
    published: int = 0  # events heard from the hub
    delivered: int = 0  # events handed to clients
    dropped: int = 0  # clients disconnected for not reading


Message = Event | dict[str, Any]
Send = Callable[[Message], Coroutine[Any, Any, None]]
Admits = Callable[[Event], bool]  # which of a channel's events a connection hears


class Subscriber:
    """One client connection: its channels with the last seq sent on each, and
    how to send it a message (SEND, usually finishing without waiting).

    An event that is next in its channel while nothing waits before it is sent
    straight from the fan-out. Anything else (acks, snapshots, missed history,
    events arriving while a send still waits) goes to a backlog that a task
    started for the purpose drains in order; an idle connection has no task
    of its own here. Live events in the backlog count against SIZE; what the
    server says itself is bounded elsewhere (by the kept history) and never
    makes a client look slow. `done` resolves when the connection must end:
    it fell SIZE events behind (`slow`), or a send failed."""

    def __init__(self, rooms: Rooms, size: int, send: Send) -> None:
        self.rooms, self.size, self.send = rooms, size, send
        self.last: dict[str, tuple[str, int]] = {}  # channel -> (epoch, seq)
        self.joining: dict[str, list[Event]] = {}  # channel -> live events held meanwhile
        self.admits: dict[str, Admits] = {}  # channel -> which of its events are heard here
        self.backlog: deque[tuple[bool, Message]] = deque()
        self.waiting = 0  # live events in the backlog
        self.sending: asyncio.Task[None] | None = None  # draining, or a send that had to wait
        self.done: asyncio.Future[None] = rooms.loop.create_future()
        self.slow = False

    def offer(self, event: Event) -> None:
        """A live event (the event loop)."""
        if self.done.done():
            return
        if self.sending is None and not self.backlog and self._next_in_line(event):
            self.last[event.channel] = (event.epoch, event.seq)
            if self._heard(event):
                self.rooms.counters.delivered += 1
                self._start(self.send(event))
            return
        if not self._heard(event):
            return  # never held for it: the gap it leaves is filled (filtered) from history
        if self.waiting >= self.size:
            self.slow = True
            self.rooms.counters.dropped += 1
            self.done.set_result(None)
            return
        self.waiting += 1
        self._queue(True, event)

    def say(self, message: Message) -> None:
        """Something the server tells this client, in turn with its events."""
        self._queue(False, message)

    def _heard(self, event: Event) -> bool:
        admits = self.admits.get(event.channel)
        return admits is None or admits(event)

    def _next_in_line(self, event: Event) -> bool:
        return (event.channel not in self.joining
                and self.last.get(event.channel) == (event.epoch, event.seq - 1))  # fmt: skip

    def _queue(self, live: bool, message: Message) -> None:
        self.backlog.append((live, message))
        if self.sending is None:
            self._start(self._drain())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            self.sending = eager.start(work)
        except Exception as exc:
            self._fail(exc)
            return
        if self.sending is not None:
            self.sending.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.sending = None
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self._fail(exc)
        elif self.backlog:
            self._start(self._drain())

    def _fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
            self.done.exception()  # retrieved: a connection that went away is no error

    async def _drain(self) -> None:
        while self.backlog and not self.done.done():
            live, item = self.backlog.popleft()
            if live:
                self.waiting -= 1
            for message in await self._in_order(item):
                await self.send(message)

    async def _in_order(self, item: Message) -> list[Message]:
        """What to send for ITEM: an event after any it was missing (or nothing,
        when it was already sent), or a control message as it is."""
        if not isinstance(item, Event):
            return [item]
        if item.channel in self.joining:
            self.joining[item.channel].append(item)
            return []
        if item.channel not in self.last:
            return []  # unsubscribed meanwhile
        epoch, seq = self.last[item.channel]
        out: list[Message] = []
        if item.epoch != epoch:  # the shared history was lost and begun again
            out.append({"type": "reset", "channel": item.channel, "epoch": item.epoch,
                        "recovered": False})  # fmt: skip
            epoch, seq = item.epoch, item.seq - 1
        if item.seq <= seq:
            return out
        if item.seq > seq + 1:
            history = await run_in_threadpool(self.rooms.hub.history, item.channel, seq, epoch)
            out += [event for event in history.events if event.seq < item.seq]
        out.append(item)
        self.last[item.channel] = (epoch, item.seq)
        out = [m for m in out if not isinstance(m, Event) or self._heard(m)]
        self.rooms.counters.delivered += sum(isinstance(m, Event) for m in out)
        return out

    async def join(
        self,
        channel: str,
        after: int | None,
        epoch: str | None,
        preface: Callable[[History], list[dict[str, Any]]] = lambda history: [],
        admits: Admits | None = None,
    ) -> History:
        """Listen to CHANNEL (to the events ADMITS lets through, when given):
        first what PREFACE says about the history found (an acknowledgement, a
        snapshot), then, with AFTER (a seq the client saw), the events it
        missed, then live events. The History says whether the kept history
        covered what was missed."""
        if admits is not None:
            self.admits[channel] = admits
        self.joining.setdefault(channel, [])
        self.rooms.add(self, channel)
        try:
            history = await run_in_threadpool(self.rooms.hub.history, channel, after or 0, epoch)
        finally:
            held = self.joining.pop(channel, [])
        resumed = after is not None and history.complete
        self.last[channel] = (history.epoch, after if resumed and after is not None else
                              history.last_seq)  # fmt: skip
        for message in preface(history):
            self.say(message)
        for event in [*(history.events if resumed else []), *held]:
            self.say(event)
        return history

    def leave(self, channel: str) -> None:
        self.rooms.remove(self, channel)
        self.last.pop(channel, None)
        self.admits.pop(channel, None)

    def close(self) -> None:
        for channel in [*self.last, *self.joining]:
            self.leave(channel)
        if self.sending is not None:
            self.sending.cancel()
        if not self.done.done():
            self.done.cancel()


class Rooms:
    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, queue_size: int = 256) -> None:
        self.hub, self.loop, self.queue_size = hub, loop, queue_size
        self.members: dict[str, set[Subscriber]] = defaultdict(set)
        self.connections: set[Subscriber] = set()
        self.counters = Counters()
        hub.listen(self._heard)

    def subscriber(self, send: Send) -> Subscriber:
        """A new connection's subscriber; SEND sends it one message."""
        subscriber = Subscriber(self, self.queue_size, send)
        self.connections.add(subscriber)
        return subscriber

    def forget(self, subscriber: Subscriber) -> None:
        subscriber.close()
        self.connections.discard(subscriber)

    def add(self, subscriber: Subscriber, channel: str) -> None:
        self.members[channel].add(subscriber)

    def remove(self, subscriber: Subscriber, channel: str) -> None:
        members = self.members.get(channel)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self.members[channel]

    def stats(self) -> dict[str, int]:
        return {"connections": len(self.connections), "channels": len(self.members),
                "events_published": self.counters.published,
                "events_delivered": self.counters.delivered,
                "drops": self.counters.dropped}  # fmt: skip

    def _heard(self, event: Event) -> None:  # any thread
        self.loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:  # the event loop
        self.counters.published += 1
        for subscriber in list(self.members.get(event.channel, ())):
            subscriber.offer(event)
