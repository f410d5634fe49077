"""Live updates in the embedded deployment: the WebSocket protocol, the seeds'
paths, access checks and bounded queues (in-memory hub, SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from repolens.app import create_app
from repolens.realtime.backends.memory import MemoryHub
from repolens.realtime.events import Event
from repolens.realtime.rooms import Rooms
from repolens.settings import Settings
from repolens.storage import migrate
from tests.conftest import Repo
from tests.integration.test_api import API, wait_until_done

TOKEN = "s3cret-token"


def make_client(tmp_path: Path, **options: Any) -> TestClient:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = Settings(database_url=url, job_workers=1, cache_dir=tmp_path / "cache",
                        data_dir=tmp_path / "data", **options)  # fmt: skip
    migrate.upgrade(settings)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as client:
        yield client


@pytest.fixture
def repo(make_repo: Callable[..., Repo]) -> Repo:
    made = make_repo()
    made.commit({"app.py": "import subprocess\n\ndef run(cmd):\n"
                           "    subprocess.call(cmd, shell=True)\n"})  # fmt: skip
    return made


def finished_run(client: TestClient, repo: Repo, headers: dict[str, str] | None = None) -> int:
    project = client.post(f"{API}/projects", json={"name": "p", "repository_url": str(repo.path)},
                          headers=headers).json()  # fmt: skip
    run = client.post(f"{API}/projects/{project['id']}/refresh", json={}, headers=headers).json()
    wait_until_done(client, run["id"]) if headers is None else None
    return int(run["id"])


def receive_until(socket: WebSocketTestSession, done: Callable[[dict[str, Any]], bool]) -> list[
        dict[str, Any]]:  # fmt: skip
    seen = []
    while True:
        message = socket.receive_json()
        seen.append(message)
        if done(message):
            return seen


def test_a_client_resuming_from_seq_zero_gets_the_whole_run_in_order_without_gaps(
    client: TestClient, repo: Repo
) -> None:
    run_id = finished_run(client, repo)

    with client.websocket_connect("/ws") as socket:
        assert socket.receive_json()["type"] == "welcome"
        socket.send_json({"type": "subscribe", "channel": f"run:{run_id}", "last_seq": 0, "id": 7})
        seen = receive_until(socket, lambda m: m["type"] in ("run.completed", "run.failed"))

    ack, *events = seen
    assert (ack["type"], ack["id"], ack["recovered"]) == ("subscribed", 7, True)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[:2] == ["run.queued", "run.started"] and types[-1] == "run.completed"
    assert "run.progress" in types and "run.step" in types
    assert events[-1]["data"]["summary"]["findings"] >= 1


def test_a_late_joiner_first_gets_a_snapshot_of_the_run(client: TestClient, repo: Repo) -> None:
    run_id = finished_run(client, repo)

    with client.websocket_connect(f"/ws/runs/{run_id}") as socket:
        ack, snapshot = socket.receive_json(), socket.receive_json()
        socket.send_text("ping")
        assert socket.receive_json()["type"] == "pong"

    assert ack["type"] == "subscribed" and not ack["recovered"]
    assert snapshot["type"] == "snapshot" and snapshot["data"]["run"]["status"] == "completed"
    assert snapshot["seq"] == ack["seq"] > 3


def test_the_run_path_resumes_after_a_seq_and_refuses_one_that_is_not_a_number(
    client: TestClient, repo: Repo
) -> None:
    run_id = finished_run(client, repo)

    with client.websocket_connect(f"/ws/runs/{run_id}?last_seq=2") as socket:
        ack, *events = receive_until(socket, lambda m: m["type"] == "run.completed")
    with (client.websocket_connect(f"/ws/runs/{run_id}?last_seq=two") as socket,
          pytest.raises(WebSocketDisconnect) as refused):  # fmt: skip
        socket.receive_json()

    assert ack["recovered"] and events[0]["seq"] == 3
    assert [e["seq"] for e in events] == list(range(3, ack["seq"] + 1))
    assert refused.value.code == 4400


def test_the_seeds_task_socket_says_connected_pong_and_how_the_run_ended(
    client: TestClient, repo: Repo
) -> None:
    run_id = finished_run(client, repo)

    with client.websocket_connect(f"/ws/tasks/{run_id}") as socket:
        connected, completed = socket.receive_json(), socket.receive_json()
        socket.send_text("ping")
        pong = socket.receive_json()

    assert connected == {"type": "connected", "task_id": run_id, "status": "completed",
                         "progress": 100}  # fmt: skip
    assert completed["type"] == "completed" and completed["result"]["findings"] >= 1
    assert pong["type"] == "pong"


def test_subscribing_needs_the_token_when_one_is_set(tmp_path: Path, repo: Repo) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with make_client(tmp_path, api_token=TOKEN) as client:
        run_id = finished_run(client, repo, headers)
        channel = f"run:{run_id}"

        with client.websocket_connect("/ws") as socket:
            socket.receive_json()
            socket.send_json({"type": "subscribe", "channel": channel, "id": 1})
            refused = socket.receive_json()
            socket.send_json({"type": "auth", "token": TOKEN})
            assert socket.receive_json()["type"] == "authenticated"
            socket.send_json({"type": "subscribe", "channel": channel, "id": 2})
            accepted = socket.receive_json()

        wrong_token = {"Authorization": "Bearer wrong"}
        with (client.websocket_connect("/ws", headers=wrong_token) as socket,
              pytest.raises(WebSocketDisconnect) as wrong):  # fmt: skip
            socket.receive_json()
        with client.websocket_connect(f"/ws/runs/{run_id}", subprotocols=[
                "repolens.v1", f"bearer.{TOKEN}"]) as socket:  # fmt: skip
            by_subprotocol = socket.receive_json()
        stats = client.get(f"{API}/realtime/stats", headers=headers).json()

    assert (refused["type"], refused["code"], refused["id"]) == ("error", "forbidden", 1)
    assert (accepted["type"], accepted["id"]) == ("subscribed", 2)
    assert wrong.value.code == 4401
    assert by_subprotocol["type"] == "subscribed"
    assert stats["connections"] == 0  # the refused ones are not left behind


def test_bad_messages_and_unknown_channels_get_clear_errors(client: TestClient) -> None:
    with client.websocket_connect("/ws") as socket:
        socket.receive_json()
        socket.send_text("{not json")
        garbled = socket.receive_json()
        socket.send_json({"type": "subscribe", "channel": "runs:1", "id": 1})
        invalid = socket.receive_json()
        socket.send_json({"type": "subscribe", "channel": "run:999999", "id": 2})
        missing = socket.receive_json()
    with client.websocket_connect("/ws/runs/999999") as socket:
        assert socket.receive_json()["code"] == "not_found"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()

    assert [garbled["code"], invalid["code"], missing["code"]] == [
        "bad_request", "invalid", "not_found"]  # fmt: skip
    assert closed.value.code == 4404


def test_a_subscriber_that_never_reads_is_cut_off_and_holds_a_bounded_queue() -> None:
    async def scenario() -> tuple[int, bool, bool, int, dict[str, int]]:
        hub = MemoryHub()
        rooms = Rooms(hub, asyncio.get_running_loop(), queue_size=50)
        heard: list[Any] = []
        never = asyncio.get_running_loop().create_future()  # a client whose socket is full

        async def read(message: Any) -> None:
            heard.append(message)

        async def stuck(message: Any) -> None:
            await never

        reader, idle = rooms.subscriber(read), rooms.subscriber(stuck)
        for subscriber in (reader, idle):
            await subscriber.join("run:1", None, None)
        for percent in range(500):
            hub.publish("run.progress", ["run:1"], {"percent": percent})
            if percent % 10 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0)
        return (idle.waiting, idle.slow, reader.done.done(), len(heard), rooms.stats())

    waiting, cut_off, reader_ended, heard, stats = asyncio.run(scenario())

    assert cut_off and waiting <= 50
    assert not reader_ended and heard == 500
    assert stats["drops"] == 1 and stats["events_published"] == 500


def test_a_client_that_stalls_for_a_while_then_gets_every_event_once_in_order() -> None:
    async def scenario() -> list[int]:
        hub = MemoryHub()
        rooms = Rooms(hub, asyncio.get_running_loop(), queue_size=100)
        flowing = asyncio.Event()
        flowing.set()
        seqs: list[int] = []

        async def send(message: Any) -> None:
            await flowing.wait()  # returns at once unless the client stalls
            if isinstance(message, Event):
                seqs.append(message.seq)

        subscriber = rooms.subscriber(send)
        await subscriber.join("run:1", None, None)
        for percent in range(60):
            if percent == 20:
                flowing.clear()
            if percent == 40:
                flowing.set()
            hub.publish("run.progress", ["run:1"], {"percent": percent})
            await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0)
        return seqs

    assert asyncio.run(scenario()) == list(range(1, 61))
