"""Live updates across real processes: two API servers, one worker, Redis and
PostgreSQL. A scan triggered over REST is followed over WebSockets (the
`websockets` library) and SSE, through either server."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from repolens.realtime.backends.redis import RedisHub
from repolens.settings import Settings
from tests.conftest import Repo
from tests.e2e.test_worker_crash import broker_url, settings, wait_for
from tests.workers import start_worker, stop

__all__ = ["broker_url", "settings"]

TERMINAL = ("run.completed", "run.failed", "run.cancelled")
INSTANCE_TOKEN = "e2e-instance-token"  # the servers' REPOLENS_API_TOKEN, for these scripts
AUTH = {"Authorization": f"Bearer {INSTANCE_TOKEN}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_api(settings: Settings, port: int, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REPOLENS_DATABASE_URL": settings.database,
           "REPOLENS_BROKER_URL": str(settings.broker),
           "REPOLENS_DATA_DIR": str(settings.data_dir),
           "REPOLENS_CACHE_DIR": str(settings.cache_dir / f"api{port}"),
           "REPOLENS_API_TOKEN": INSTANCE_TOKEN, "REPOLENS_CLI_CONFIG": str(cli_config(settings)),
           **extra}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "repolens", "serve", "--port", str(port)],
                               env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).is_success
        except httpx.HTTPError:
            return False

    wait_for(healthy, 60, lambda: None)
    return process


def cli_config(settings: Settings) -> Path:
    """Where the servers' first start keeps its admin's token for the command line."""
    return settings.data_dir / "cli.toml"


@pytest.fixture
def apis(settings: Settings, tmp_path: Path) -> Iterator[list[int]]:
    ports, processes = [free_port(), free_port()], []
    worker = start_worker(settings, "w0", tmp_path / "worker.log")
    try:
        for port in ports:  # one after the other: the first migrates the database
            processes.append(start_api(settings, port, tmp_path / f"api{port}.log"))
        yield ports
    finally:
        for process in [*processes, worker]:
            stop(process)


@contextlib.contextmanager
def subscribe(port: int, channel: str, last_seq: int | None) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{port}/ws", additional_headers=AUTH, open_timeout=10) as client:
        assert json.loads(client.recv(10))["type"] == "welcome"
        client.send(json.dumps({"type": "subscribe", "channel": channel, "last_seq": last_seq}))
        ack = json.loads(client.recv(10))
        assert ack["type"] == "subscribed", ack
        yield client


def events_until(client: ClientConnection, stop_when: Callable[[dict[str, Any]], bool]) -> list[
        dict[str, Any]]:  # fmt: skip
    seen = []
    while True:
        message = json.loads(client.recv(120))
        if "seq" in message and "v" in message:
            seen.append(message)
            if stop_when(message):
                return seen


def trigger_scan(port: int, repo: Repo) -> int:
    api = f"http://127.0.0.1:{port}/api/v1"
    body = {"name": "p", "repository_url": str(repo.path)}
    project = httpx.post(f"{api}/projects", json=body, headers=AUTH, timeout=10).json()
    run = httpx.post(f"{api}/projects/{project['id']}/refresh", json={}, headers=AUTH, timeout=10)
    assert run.status_code == 202
    return int(run.json()["id"])


def test_a_scan_is_followed_live_through_both_servers_and_a_reconnect_misses_nothing(
    apis: list[int], make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    repo.commit({f"pkg/m{i}.py": f"import subprocess\n\ndef f{i}(cmd):\n"
                 f"    subprocess.call(cmd, shell=True)\n" for i in range(80)})  # fmt: skip
    first, second = apis
    run_id = trigger_scan(first, repo)
    channel = f"run:{run_id}"

    with (subscribe(first, channel, last_seq=0) as watcher,
          subscribe(second, channel, last_seq=0) as other):  # fmt: skip
        with subscribe(second, channel, last_seq=0) as leaver:
            before = events_until(leaver, lambda e: e["type"] == "run.progress" and e["seq"] > 3)
        time.sleep(1.0)  # disconnected mid-run: events go on
        with subscribe(second, channel, last_seq=before[-1]["seq"]) as back:
            after = events_until(back, lambda e: e["type"] in TERMINAL)
        seen = events_until(watcher, lambda e: e["type"] in TERMINAL)
        seen_elsewhere = events_until(other, lambda e: e["type"] in TERMINAL)

    kinds = [e["type"] for e in seen]
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))  # no gap, no repeat
    assert kinds[:2] == ["run.queued", "run.started"] and kinds[-1] == "run.completed"
    assert kinds.count("run.progress") >= 3
    assert [e["seq"] for e in seen_elsewhere] == [e["seq"] for e in seen]
    assert before + after == seen  # exactly what was missed, once
    assert after and after[0]["seq"] == before[-1]["seq"] + 1


def test_server_sent_events_resume_from_last_event_id(
    apis: list[int], make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import subprocess\nsubprocess.call('ls', shell=True)\n"})
    port = apis[1]
    run_id = trigger_scan(apis[0], repo)
    with subscribe(port, f"run:{run_id}", last_seq=0) as client:
        everything = events_until(client, lambda e: e["type"] in TERMINAL)
    stats = _stats(port)
    assert stats["backend"] == "redis" and stats["events_published"] >= len(everything)

    headers = {**AUTH, "Last-Event-ID": "0"}  # from the start of the channel's current history
    received: list[tuple[str, dict[str, Any]]] = []
    url = f"http://127.0.0.1:{port}/api/v1/events/run:{run_id}"
    for attempt in range(2):  # read two events, drop the connection, resume with the last id
        with httpx.stream("GET", url, headers=headers, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                if "id" in fields:  # an event (a comment or snapshot has no id)
                    received.append((fields["id"], json.loads(fields["data"])))
                    if (attempt == 0 and len(received) == 2) or fields["event"] in TERMINAL:
                        break
                fields = {}
        headers = {**AUTH, "Last-Event-ID": received[-1][0]}

    assert [data for _, data in received] == everything
    assert [event_id.rpartition(":")[2] for event_id, _ in received] == [
        str(e["seq"]) for e in everything]  # fmt: skip


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_subscriber_that_never_reads_is_disconnected_and_memory_stays_bounded(
    apis: list[int], settings: Settings
) -> None:
    port = apis[0]
    server = next(p for p in _api_pids() if f"--port {port}" in p[1])[0]
    hub = RedisHub(str(settings.events))
    padding = "x" * 2048
    with connect(f"ws://127.0.0.1:{port}/ws", additional_headers=AUTH, max_queue=1,
                 open_timeout=10) as idle:  # fmt: skip
        idle.recv(10)
        idle.send(json.dumps({"type": "subscribe", "channel": "global"}))
        before = rss_kib(server)
        for index in range(20_000):  # 40 MB of events the client never reads
            hub.publish("queue.stats", ["global"], {"index": index, "padding": padding})
        wait_for(lambda: _stats(port)["drops"] >= 1, 30, lambda: None)
        grown = rss_kib(server) - before
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                idle.recv(10)
    hub.close()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert grown < 20_000, f"the server grew by {grown} KiB"
    assert _stats(port)["connections"] == 0


def _stats(port: int) -> dict[str, int]:
    answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/realtime/stats", headers=AUTH, timeout=5)
    return dict(answer.json())


def _api_pids() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "repolens serve" in line:
                found.append((int(entry.name), line))
    return found


def test_repolens_watch_follows_a_run_to_its_end_in_the_terminal(
    apis: list[int], make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit(
        {"app.py": "import subprocess\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"}
    )
    run_id = trigger_scan(apis[0], repo)

    # The command line signs in with the token the first start kept for it.
    watched = subprocess.run(
        [sys.executable, "-m", "repolens", "watch", str(run_id), "--server", f"ws://127.0.0.1:{apis[1]}"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", "REPOLENS_CLI_CONFIG": str(cli_config(settings))},
    )  # fmt: skip

    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert f"run {run_id} queued" in watched.stdout and "step analyze" in watched.stdout
    assert "new high" in watched.stdout and "app.py:4" in watched.stdout
    assert "completed score" in watched.stdout


def test_repolens_watch_says_clearly_when_the_run_does_not_exist(
    apis: list[int], settings: Settings
) -> None:
    watched = subprocess.run(
        [sys.executable, "-m", "repolens", "watch", "424242", "--server", f"ws://127.0.0.1:{apis[0]}"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "REPOLENS_CLI_CONFIG": str(cli_config(settings))},
    )  # fmt: skip

    assert watched.returncode == 2 and "run:424242 does not exist" in watched.stdout


def test_a_client_that_stops_answering_pings_is_disconnected_and_one_that_answers_stays(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    server = start_api(settings, port, tmp_path / "api.log", REPOLENS_WS_PING_SECONDS="1")
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Authorization: Bearer {INSTANCE_TOKEN}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n")  # fmt: skip
    try:
        with (connect(f"ws://127.0.0.1:{port}/ws", additional_headers=AUTH,
                      open_timeout=10) as answering,
              socket.create_connection(("127.0.0.1", port), 5) as silent):  # fmt: skip
            silent.sendall(handshake.encode())  # then never reads a frame nor answers
            silent.settimeout(15)
            began, heard = time.monotonic(), b""
            while chunk := silent.recv(4096):  # until the server hangs up
                heard += chunk
            waited = time.monotonic() - began
            answering.send(json.dumps({"type": "ping", "id": 1}))
            pong = json.loads(answering.recv(10))
            if pong["type"] == "welcome":
                pong = json.loads(answering.recv(10))
            connections = _stats(port)["connections"]
    finally:
        stop(server)

    assert heard.startswith(b"HTTP/1.1 101") and b"\x89" in heard  # upgraded, then pinged
    assert 1.5 <= waited < 10, f"closed after {waited:.1f}s"
    assert pong == {"type": "pong", "id": 1} and connections == 1
