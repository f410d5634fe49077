"""The event hub, in memory and on the machine's real Redis."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest

from repolens.realtime.backends.memory import MemoryHub
from repolens.realtime.backends.redis import RedisHub
from repolens.realtime.events import Event
from repolens.realtime.hub import Hub, Publication
from tests.integration.databases import redis_url


@pytest.fixture(params=["memory", "redis"])
def hubs(request: pytest.FixtureRequest) -> Iterator[tuple[Hub, Hub]]:
    """A publishing hub and a listening one: two processes' views of the same events."""
    if request.param == "memory":
        hub = MemoryHub(keep=5)
        yield hub, hub
        return
    with redis_url() as url:
        publisher, listener = RedisHub(url, keep=5), RedisHub(url, keep=5)
        yield publisher, listener
        publisher.close()
        listener.close()


def test_events_are_numbered_per_channel_from_one(hubs: tuple[Hub, Hub]) -> None:
    hub, _ = hubs
    first = hub.publish("run.progress", ["run:1", "project:9"], {"percent": 10})
    second = hub.publish("run.progress", ["run:1"], {"percent": 20})
    other = hub.publish("run.queued", ["run:2"], {})[0]

    assert [(e.channel, e.seq) for e in first + second] == [
        ("run:1", 1), ("project:9", 1), ("run:1", 2)]  # fmt: skip
    assert other.seq == 1 and other.wire()["channel"] == "run:2" and other.wire()["v"] == 1


def test_events_published_together_are_numbered_and_kept_as_if_published_one_by_one(
    hubs: tuple[Hub, Hub],
) -> None:
    hub, _ = hubs
    hub.publish("run.queued", ["run:3"], {})
    if isinstance(hub, RedisHub):
        hub._client.script_flush()  # a Redis that restarted has forgotten the script
    hub.publish_all([Publication("run.started", ["run:3", "global"], {"worker": "w"}),
                     Publication("run.progress", ["run:3"], {"percent": 50})])  # fmt: skip

    kept = hub.history("run:3").events
    assert [(e.seq, e.type) for e in kept] == [
        (1, "run.queued"), (2, "run.started"), (3, "run.progress")]  # fmt: skip
    assert [(e.seq, e.data["worker"]) for e in hub.history("global").events] == [(1, "w")]


def test_a_client_that_saw_seq_n_gets_exactly_what_came_after(hubs: tuple[Hub, Hub]) -> None:
    hub, _ = hubs
    published = [hub.publish("run.progress", ["run:7"], {"percent": p})[0] for p in range(4)]

    history = hub.history("run:7", after=2, epoch=published[0].epoch)

    assert history.complete and history.last_seq == 4
    assert [(e.seq, e.data["percent"]) for e in history.events] == [(3, 2), (4, 3)]
    assert hub.history("run:7", after=4).events == []


def test_history_that_no_longer_reaches_back_says_so(hubs: tuple[Hub, Hub]) -> None:
    hub, _ = hubs
    for percent in range(30):  # five are kept
        hub.publish("run.progress", ["run:3"], {"percent": percent})

    assert not hub.history("run:3", after=1).complete
    assert not hub.history("run:3", after=29, epoch="another-epoch").complete
    assert not hub.history("run:3", after=99).complete  # a seq this history never had
    assert hub.history("run:3", after=29).complete


def test_listeners_hear_events_published_by_another_process(hubs: tuple[Hub, Hub]) -> None:
    publisher, listener = hubs
    heard: queue.Queue[Event] = queue.Queue()
    listener.listen(heard.put)
    _wait_until_listening(publisher, heard)

    sent = [publisher.publish("run.step", ["run:5"], {"name": name}) for name in ("get", "scan")]

    got = [heard.get(timeout=5) for _ in sent]
    assert [(e.channel, e.seq, e.data["name"]) for e in got] == [
        ("run:5", 1, "get"), ("run:5", 2, "scan")]  # fmt: skip


def test_an_unknown_type_or_channel_is_refused(hubs: tuple[Hub, Hub]) -> None:
    hub, _ = hubs
    with pytest.raises(ValueError, match="unknown event type"):
        hub.publish("run.exploded", ["run:1"], {})
    with pytest.raises(ValueError, match="not a channel"):
        hub.publish("run.queued", ["runs:1"], {})


def _wait_until_listening(hub: Hub, heard: queue.Queue[Event]) -> None:
    """The Redis listener subscribes in its own thread: publish until it hears."""
    for _ in range(100):
        hub.publish("queue.stats", ["global"], {})
        try:
            heard.get(timeout=0.05)
        except queue.Empty:
            continue
        while not heard.empty():
            heard.get()
        return
    raise AssertionError("the listener never heard anything")
