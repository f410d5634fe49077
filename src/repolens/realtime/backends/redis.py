"""The shared hub: a Redis stream per channel (bounded, with its epoch and seq
counter beside it) and one pub/sub channel that fans every event out to every
listening process.

Publishing is one Lua script, so numbering, keeping and fanning out happen
atomically and in seq order. Keys of a quiet channel expire; when its counter
starts again it starts a new epoch, and a client holding an old seq is told the
history no longer covers it."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

import redis

from repolens.realtime import events
from repolens.realtime.events import Event
from repolens.realtime.hub import History, Listener, covering

log = logging.getLogger(__name__)

FANOUT = "repolens:events"

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[3], ARGV[4])
end
local epoch = redis.call('GET', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], seq .. '-1', 'b', ARGV[2])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
redis.call('PUBLISH', ARGV[3], seq .. '|' .. epoch .. '|' .. ARGV[2])
return {seq, epoch}
"""


def _keys(channel: str) -> list[str]:
    tag = f"repolens:{{{channel}}}"  # one hash slot per channel
    return [f"{tag}:seq", f"{tag}:stream", f"{tag}:epoch"]


class RedisHub:
    backend = "redis"

    def __init__(self, url: str, keep: int = 1000, keep_seconds: int = 86400) -> None:
        self.url, self.keep, self.keep_seconds = url, keep, keep_seconds
        self._client = redis.Redis.from_url(url, decode_responses=True,
                                            socket_connect_timeout=2, socket_timeout=5)  # fmt: skip
        self._publish = self._client.register_script(_PUBLISH)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, type: str, channel: str, data: dict[str, Any]) -> Event:
        fields = events.body(type, channel, data)
        payload = json.dumps(fields, separators=(",", ":"))
        args = [self.keep, payload, FANOUT, uuid.uuid4().hex[:12], self.keep_seconds]
        seq, epoch = self._publish(keys=_keys(channel), args=args)
        return events.from_body(int(seq), str(epoch), fields)

    def history(self, channel: str, after: int = 0, epoch: str | None = None) -> History:
        seq_key, stream, epoch_key = _keys(channel)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key).get(epoch_key).xrange(stream, f"{after + 1}-0", "+")
            pipe.xrange(stream, "-", "+", count=1)
            last, current, entries, first = pipe.execute()
        current = current or ""
        entries = first + [entry for entry in entries if entry not in first]
        kept = [events.from_body(int(entry_id.split("-")[0]), current, json.loads(fields["b"]))
                for entry_id, fields in entries]  # fmt: skip
        return covering(current, int(last or 0), kept, after, epoch)

    def listen(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)
            if self._thread is None:
                self._thread = threading.Thread(target=self._fan_in, name="repolens-events",
                                                daemon=True)  # fmt: skip
                self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        self._client.close()

    def _fan_in(self) -> None:
        """Deliver the fan-out channel to the listeners, reconnecting with backoff.
        Events published while disconnected are not lost to clients: each
        connection notices the gap in seq and reads it from the history."""
        delay = 0.1
        while not self._stopping.is_set():
            try:
                self._receive()
                delay = 0.1
            except redis.RedisError as exc:
                log.warning("events: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 5.0)

    def _receive(self) -> None:
        client = redis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(FANOUT)
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                seq, epoch, payload = str(message["data"]).split("|", 2)
                event = events.from_body(int(seq), epoch, json.loads(payload))
                with self._lock:
                    listeners = list(self._listeners)
                for listener in listeners:
                    listener(event)
        finally:
            pubsub.close()
            client.close()

