"""The `global` channel, heard per subscriber: each hears the events of the
projects it sees (an instance admin, everything, the queue's statistics too),
in order, each once, with no gap where another's events were left out: live,
after a stall, and resumed from the kept history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.realtime.backends.memory import MemoryHub
from repolens.realtime.events import Event
from repolens.realtime.rooms import Rooms
from repolens.security import access, identity
from repolens.security.policy import Principal, Scope
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects

OURS, THEIRS = 1, 2
VIEWER = Principal("viewer", 7, roles={OURS: models.Role.VIEWER})


def publish_mixed(hub: MemoryHub, count: int, start: int = 0) -> None:
    """COUNT rounds of: a run event of ours, one of theirs, the queue's statistics."""
    for n in range(start, start + count):
        hub.publish("run.progress", ["global"], {"project_id": OURS, "n": n})
        hub.publish("run.progress", ["global"], {"project_id": THEIRS, "n": n})
        hub.publish("queue.stats", ["global"], {"queued": n})


async def until(seen: Callable[[], bool]) -> None:
    """Wait for what SEEN looks for (a gap is filled from history in a thread)."""
    async with asyncio.timeout(10):
        while not seen():
            await asyncio.sleep(0.01)


def test_a_subscriber_hears_only_its_projects_in_order_live_after_a_stall_and_resumed() -> None:
    async def scenario() -> tuple[list[Event], list[Event], list[Event]]:
        hub = MemoryHub()
        rooms = Rooms(hub, asyncio.get_running_loop(), queue_size=100)
        flowing = asyncio.Event()
        flowing.set()
        live: list[Event] = []
        everything: list[Event] = []

        async def stalling(message: Any) -> None:
            await flowing.wait()
            if isinstance(message, Event):
                live.append(message)

        async def admin(message: Any) -> None:
            if isinstance(message, Event):
                everything.append(message)

        viewer = rooms.subscriber(stalling)
        await viewer.join("global", None, None, admits=access.admits(VIEWER, "global"))
        await rooms.subscriber(admin).join("global", None, None,
                                           admits=access.admits(Principal("root", admin=True),
                                                                "global"))  # fmt: skip
        for n in range(30):
            if n == 10:
                flowing.clear()  # the viewer stalls: its events wait in its backlog
            if n == 20:
                flowing.set()
            publish_mixed(hub, 1, n)
            await asyncio.sleep(0)
        await until(lambda: any(e.data.get("n") == 29 for e in live))  # its last one
        resumed: list[Event] = []

        async def later(message: Any) -> None:
            if isinstance(message, Event):
                resumed.append(message)

        await rooms.subscriber(later).join("global", 0, None,
                                           admits=access.admits(VIEWER, "global"))  # fmt: skip
        await until(lambda: any(e.data.get("n") == 29 for e in resumed))
        return live, everything, resumed

    live, everything, resumed = asyncio.run(scenario())

    ours = [e for e in everything if e.data.get("project_id") == OURS]
    assert [e.seq for e in live] == [e.seq for e in ours] and len(live) == 30
    assert [e.data["n"] for e in live] == list(range(30))  # in order, each once
    assert len(everything) == 90 and [e.seq for e in everything] == list(range(1, 91))
    assert [e.seq for e in resumed] == [e.seq for e in ours]  # from history, filtered alike


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")  # fmt: skip
    migrate.upgrade(settings)
    with db.sessions(db.engine(settings)).begin() as session:
        viewer = identity.create(session, "viewer")
        root = identity.create(session, "root", admin=True)
        made = [projects.create(session, name=name, repository_url=f"https://example.com/o/{name}")
                for name in ("ours", "theirs")]  # fmt: skip
        identity.add_member(session, viewer.id, made[0].id, models.Role.VIEWER)
        tokens = {"viewer": identity.issue_token(session, viewer, "t", [Scope.READ])[1],
                  "root": identity.issue_token(session, root, "t", list(Scope))[1]}  # fmt: skip
    with TestClient(create_app(settings)) as client:
        # Running now, after the start's recovery (which would take back runs left running).
        with db.sessions(db.engine(settings)).begin() as session:
            for project_id in (1, 2):
                session.add(models.Run(project_id=project_id, trigger="manual", status="running",
                                       heartbeat_at=models.now()))  # fmt: skip
        yield client, tokens


def test_over_the_socket_a_viewer_hears_of_its_project_only_and_sees_its_runs_only(
    deployment: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = deployment
    said: dict[str, list[dict[str, Any]]] = {}
    offered = {name: ["repolens.v1", f"bearer.{token}"] for name, token in tokens.items()}
    with (client.websocket_connect("/ws", subprotocols=offered["viewer"]) as viewer,
          client.websocket_connect("/ws", subprotocols=offered["root"]) as root):  # fmt: skip
        for name, socket in (("viewer", viewer), ("root", root)):
            socket.receive_json()
            socket.send_json({"type": "subscribe", "channel": "global", "id": 1})
            said[name] = [socket.receive_json(), socket.receive_json()]  # subscribed, snapshot
        publish_mixed(client.app.state.hub, 2)  # type: ignore[attr-defined]
        for name, socket, count in (("viewer", viewer, 2), ("root", root, 6)):
            said[name] += [socket.receive_json() for _ in range(count)]
        viewer.send_json({"type": "ping", "id": 2})  # nothing else was on its way
        assert viewer.receive_json() == {"type": "pong", "id": 2}

    snapshot = {name: messages[1]["data"]["active_runs"] for name, messages in said.items()}
    assert [run["project_id"] for run in snapshot["viewer"]] == [1]
    assert sorted(run["project_id"] for run in snapshot["root"]) == [1, 2]
    heard = {name: [(m["type"], m["data"].get("project_id")) for m in messages[2:]]
             for name, messages in said.items()}  # fmt: skip
    assert heard["viewer"] == [("run.progress", 1), ("run.progress", 1)]
    assert heard["root"].count(("queue.stats", None)) == 2 and len(heard["root"]) == 6
