"""The wire format of everything live: typed, versioned events on channels.

    {"v": 1, "seq": 42, "type": "run.progress", "channel": "run:123",
     "ts": "2026-11-22T10:00:00.123Z", "data": {...}}

`seq` counts per channel from 1 with no gaps; `epoch` names the history a
sequence belongs to (a new epoch starts when the history was lost, so a
client's old `seq` means nothing there)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

VERSION = 1

TYPES = frozenset({
    "run.queued", "run.started", "run.progress", "run.step", "run.finding_batch",
    "run.completed", "run.failed", "run.cancelled",
    "project.updated", "plan.updated", "queue.stats", "webhook.delivery",
})  # fmt: skip

TERMINAL = {"completed": "run.completed", "failed": "run.failed", "cancelled": "run.cancelled",
            "superseded": "run.cancelled"}  # fmt: skip

_CHANNEL = re.compile(r"^(?:(?:run|project|user):[1-9][0-9]{0,17}|global)$")


@dataclass(frozen=True)
class Event:
    seq: int
    type: str
    channel: str
    ts: str
    data: dict[str, Any] = field(default_factory=dict)
    epoch: str = ""
    v: int = VERSION

    def wire(self) -> dict[str, Any]:
        return {"v": self.v, "seq": self.seq, "type": self.type, "channel": self.channel,
                "ts": self.ts, "data": self.data}  # fmt: skip

    @cached_property
    def text(self) -> str:
        """The wire form, encoded once however many clients it goes to."""
        return json.dumps(self.wire(), separators=(",", ":"))


def body(type: str, channel: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a publisher hands the hub: everything but the sequence number."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type!r}")
    if not is_channel(channel):
        raise ValueError(f"not a channel: {channel!r}")
    return {"v": VERSION, "type": type, "channel": channel, "ts": timestamp(), "data": data}


def from_body(seq: int, epoch: str, fields: dict[str, Any]) -> Event:
    data = fields.get("data") or {}
    return Event(seq=seq, type=fields["type"], channel=fields["channel"], ts=fields["ts"],
                 data=data, epoch=epoch, v=fields.get("v", VERSION))  # fmt: skip


def is_channel(name: str) -> bool:
    return bool(_CHANNEL.match(name))


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
