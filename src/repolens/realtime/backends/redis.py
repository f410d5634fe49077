"""The shared hub: a Redis stream per channel (bounded, with its epoch and seq
counter beside it) and one pub/sub channel that fans every event out to every
listening process.

Publishing is one Lua script, so numbering, keeping and fanning out happen
atomically and in seq order, for all the channels of an event in one round trip
(the keys of several channels in one script: a single Redis, not a Cluster).
Keys of a quiet channel expire; when its counter starts again it starts a new
epoch, and a client holding an old seq is told the history no longer covers it."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import redis

from repolens.realtime import events
from repolens.realtime.events import Event
from repolens.realtime.hub import History, Listener, Publication, covering

log = logging.getLogger(__name__)

FANOUT = "repolens:events"

# KEYS: seq, stream, epoch of each channel in turn; ARGV: keep, fan-out channel,
# a fresh epoch, expiry, then one body per channel. One round trip for all.
_PUBLISH = """
local out = {}
for c = 0, #KEYS / 3 - 1 do
  local seq_key, stream, epoch_key = KEYS[3*c+1], KEYS[3*c+2], KEYS[3*c+3]
  local body = ARGV[5 + c]
  local seq = redis.call('INCR', seq_key)
  if seq == 1 then
    redis.call('DEL', stream)
    redis.call('SET', epoch_key, ARGV[3])
  end
  local epoch = redis.call('GET', epoch_key)
  redis.call('XADD', stream, 'MAXLEN', ARGV[1], seq .. '-1', 'b', body)
  for _, key in ipairs({seq_key, stream, epoch_key}) do redis.call('EXPIRE', key, ARGV[4]) end
  redis.call('PUBLISH', ARGV[2], seq .. '|' .. epoch .. '|' .. body)
  table.insert(out, {seq, epoch})
end
return out
"""


def _keys(channel: str) -> list[str]:
    base = f"repolens:ch:{channel}"
    return [f"{base}:seq", f"{base}:stream", f"{base}:epoch"]


class RedisHub:
    backend = "redis"

    def __init__(self, url: str, keep: int = 1000, keep_seconds: int = 86400) -> None:
        self.url, self.keep, self.keep_seconds = url, keep, keep_seconds
        self._client = redis.Redis.from_url(url, decode_responses=True,
                                            socket_connect_timeout=2, socket_timeout=5)  # fmt: skip
        self._publish = self._client.register_script(_PUBLISH)
        # Pub/sub ignores database numbers: deployments sharing a Redis stay apart.
        self.fanout = f"{FANOUT}:{self._client.connection_pool.connection_kwargs.get('db', 0)}"
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, type: str, channels: Sequence[str], data: dict[str, Any]) -> list[Event]:
        bodies = [events.body(type, channel, data) for channel in channels]
        numbered = self._publish(*self._script(bodies))
        return [events.from_body(int(seq), str(epoch), fields)
                for (seq, epoch), fields in zip(numbered, bodies, strict=True)]  # fmt: skip

    def publish_all(self, publications: Sequence[Publication]) -> None:
        """One pipeline of the script by its digest: one round trip for all. A
        Redis that lost the script (restarted) is given it again, and the
        pipeline sent once more."""
        scripts = [self._script([events.body(one.type, channel, one.data)
                                 for channel in one.channels]) for one in publications]  # fmt: skip
        for attempt in range(2):
            with self._client.pipeline(transaction=False) as pipe:
                for keys, args in scripts:
                    pipe.evalsha(self._publish.sha, len(keys), *keys, *args)
                try:
                    pipe.execute()
                    return
                except redis.exceptions.NoScriptError:
                    if attempt:
                        raise
                    self._client.script_load(_PUBLISH)  # the digest stays the same

    def _script(self, bodies: list[dict[str, Any]]) -> tuple[list[str], list[str | int]]:
        """The keys and arguments of the publishing script for BODIES."""
        keys = [key for fields in bodies for key in _keys(fields["channel"])]
        args: list[str | int] = [self.keep, self.fanout, uuid.uuid4().hex[:12], self.keep_seconds]
        args += [json.dumps(fields, separators=(",", ":")) for fields in bodies]
        return keys, args

    def history(self, channel: str, after: int = 0, epoch: str | None = None) -> History:
        seq_key, stream, epoch_key = _keys(channel)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            pipe.get(epoch_key)
            pipe.xrange(stream, f"{after + 1}-0", "+")
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
        pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.fanout)
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
