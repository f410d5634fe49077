"""The in-process hub: a bounded deque per channel, listeners called in the
publisher's thread. Thread-safe: the embedded workers publish from their threads."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

from repolens.realtime import events
from repolens.realtime.events import Event
from repolens.realtime.hub import History, Listener, Publication, covering


class MemoryHub:
    backend = "memory"

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.epoch = uuid.uuid4().hex[:12]  # a restarted process has lost the history
        self._lock = threading.Lock()
        self._kept: dict[str, deque[Event]] = {}
        self._seq: dict[str, int] = {}
        self._listeners: list[Listener] = []

    def publish(self, type: str, channels: Sequence[str], data: dict[str, Any]) -> list[Event]:
        bodies = [events.body(type, channel, data) for channel in channels]
        published = []
        with self._lock:
            for fields in bodies:
                channel = fields["channel"]
                seq = self._seq.get(channel, 0) + 1
                self._seq[channel] = seq
                event = events.from_body(seq, self.epoch, fields)
                self._kept.setdefault(channel, deque(maxlen=self.keep)).append(event)
                published.append(event)
                # Inside the lock: listeners see each channel's events in seq order.
                for listener in self._listeners:
                    listener(event)
        return published

    def publish_all(self, publications: Sequence[Publication]) -> None:
        for one in publications:
            self.publish(one.type, one.channels, one.data)

    def history(self, channel: str, after: int = 0, epoch: str | None = None) -> History:
        with self._lock:
            kept = list(self._kept.get(channel, ()))
            last = self._seq.get(channel, 0)
        return covering(self.epoch, last, kept, after, epoch)

    def listen(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self._listeners.clear()
