"""The one boundary events cross between processes: publish on a channel, read
a channel's recent history, and listen to everything published anywhere.

In memory for the embedded deployment (`backends.memory`); Redis streams plus
pub/sub when several processes share the events (`backends.redis`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from repolens.realtime.events import Event
from repolens.settings import Settings

Listener = Callable[[Event], None]


@dataclass(frozen=True)
class History:
    """The events of a channel after some `seq`. COMPLETE is False when the kept
    history no longer reaches back that far, or the epoch changed: the client
    must refetch the state over REST."""

    epoch: str
    last_seq: int
    events: list[Event] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class Publication:
    """One event to publish: its TYPE, the CHANNELS it goes to, its DATA."""

    type: str
    channels: Sequence[str]
    data: dict[str, Any]


class Hub(Protocol):
    backend: str

    def publish(self, type: str, channels: Sequence[str], data: dict[str, Any]) -> list[Event]:
        """Append an event to each of CHANNELS' histories and fan them out, at
        once; returns them with their seqs."""

    def publish_all(self, publications: Sequence[Publication]) -> None:
        """Publish each of PUBLICATIONS as `publish` would, in order, together
        (one round trip to a shared hub)."""

    def history(self, channel: str, after: int = 0, epoch: str | None = None) -> History:
        """The kept events of CHANNEL with seq > AFTER (in EPOCH, when given)."""

    def listen(self, listener: Listener) -> None:
        """Call LISTENER with every event published from now on, by any process.
        It is called from a background thread and must not block."""

    def close(self) -> None: ...


def create(settings: Settings) -> Hub:
    """Redis when `REPOLENS_EVENTS_URL` is set (or the broker is Redis), else in memory."""
    url = settings.events
    if url:
        from repolens.realtime.backends.redis import RedisHub

        return RedisHub(url, settings.events_history, settings.events_keep_seconds)
    from repolens.realtime.backends.memory import MemoryHub

    return MemoryHub(settings.events_history)


def covering(epoch: str, last_seq: int, kept: list[Event], after: int,
             wanted: str | None) -> History:  # fmt: skip
    """The History answer for a client that saw up to AFTER in epoch WANTED,
    given the KEPT events (oldest first) of a channel at LAST_SEQ."""
    if (wanted is not None and wanted != epoch) or after > last_seq:
        return History(epoch, last_seq, [], complete=False)  # another history than theirs
    missed = [event for event in kept if event.seq > after]
    complete = after == last_seq or (bool(kept) and kept[0].seq <= after + 1)
    return History(epoch, last_seq, missed, complete)
