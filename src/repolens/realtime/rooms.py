"""This process's side of the fan-out: which connection listens to which
channel, a bounded queue per connection, and the counters behind
`/api/v1/realtime/stats`.

Every event the hub hears is handed to the event loop and offered to the
members of its channel. A connection whose queue is full is a consumer that
does not read: it is marked and closed, so the server's memory stays bounded.
Each connection's sender (`Subscriber.next`) keeps the order per channel: it
skips what it already sent and fills a gap in `seq` from the hub's history."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from repolens.realtime.events import Event
from repolens.realtime.hub import History, Hub

SLOW_CONSUMER = 4008

_ids = itertools.count(1)


@dataclass
class Counters:
    published: int = 0  # events heard from the hub
    delivered: int = 0  # messages handed to clients
    dropped: int = 0  # clients disconnected for not reading


@dataclass(eq=False)  # identity: one per connection
class Subscriber:
    """One client connection: its channels with the last seq sent on each.

    Live events count against SIZE; what the server says itself (acks,
    snapshots, the history a resuming client missed) is bounded elsewhere
    (by the kept history) and never makes a client look slow."""

    rooms: Rooms
    size: int
    id: int = field(default_factory=lambda: next(_ids))
    last: dict[str, tuple[str, int]] = field(default_factory=dict)  # channel -> (epoch, seq)
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bool, Event | dict[str, Any]]] = asyncio.Queue()
        self.waiting = 0  # live events in the queue
        self.joining: dict[str, list[Event]] = {}  # channel -> live events held meanwhile

    def offer(self, event: Event) -> None:
        """A live event (the loop's thread)."""
        if self.waiting >= self.size:
            if not self.overflowed.is_set():
                self.rooms.counters.dropped += 1
                self.overflowed.set()
            return
        self.waiting += 1
        self.queue.put_nowait((True, event))

    def say(self, message: Event | dict[str, Any]) -> None:
        self.queue.put_nowait((False, message))

    async def join(
        self,
        channel: str,
        after: int | None,
        epoch: str | None,
        preface: Callable[[History], list[dict[str, Any]]] = lambda history: [],
    ) -> History:
        """Listen to CHANNEL: first what PREFACE says about the history found
        (an acknowledgement, a snapshot), then, with AFTER (a seq the client
        saw), the events it missed, then live events. The History says whether
        the kept history covered what was missed."""
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

    def close(self) -> None:
        for channel in [*self.last, *self.joining]:
            self.leave(channel)

    async def next(self) -> list[Event | dict[str, Any]]:
        """The next messages to send, in order: an event, after any it was
        missing, or a control message. Empty when it was already sent."""
        live, item = await self.queue.get()
        if live:
            self.waiting -= 1
        if not isinstance(item, Event):
            return [item]
        if item.channel in self.joining:
            self.joining[item.channel].append(item)
            return []
        if item.channel not in self.last:
            return []  # unsubscribed meanwhile
        epoch, seq = self.last[item.channel]
        out: list[Event | dict[str, Any]] = []
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
        self.rooms.counters.delivered += sum(isinstance(m, Event) for m in out)
        return out


class Rooms:
    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, queue_size: int = 256) -> None:
        self.hub, self.loop, self.queue_size = hub, loop, queue_size
        self.members: dict[str, set[Subscriber]] = defaultdict(set)
        self.connections: set[Subscriber] = set()
        self.counters = Counters()
        hub.listen(self._heard)

    def subscriber(self) -> Subscriber:
        subscriber = Subscriber(self, self.queue_size)
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
