"""Benchmark: delivering live events to many WebSocket subscribers.

    python bench/realtime.py [--subscribers 2000] [--rate 10] [--seconds 30]

Needs the machine's Redis. In one run, each server in its own process under
uvicorn with the same options, the same clients and the same publisher:
  1. bare: a Starlette app whose one loop reads a Redis pub/sub channel and
     sends each message to every connected WebSocket in turn;
  2. repolens: `repolens serve` (embedded mode, events on Redis); the clients
     speak the `/ws` protocol and subscribe to `global`, and the publisher is a
     `RedisHub`, as a worker publishes.
SUBSCRIBERS clients (websockets library, spread over client processes) connect
and wait; then RATE events per second are published for SECONDS. Each event
carries the time it was published; each client notes when it arrived.
Measured: delivery latency p50/p99 over all deliveries, the server process's
CPU time per delivered message while publishing, and its RSS per idle
connection (RSS with every client connected and subscribed, less RSS before).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis
from processes import percentile, stop

EVENTS = "redis://127.0.0.1:6379/13"
TOKEN = "bench-instance-token"  # the server's REPOLENS_API_TOKEN, which every client shows
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BARE_CHANNEL = "bench:bare"
PING_SECONDS = 20.0
COMPRESSION = False  # per-message deflate, as `repolens serve` has it by default
TICK = os.sysconf("SC_CLK_TCK")


# --- the bare server -------------------------------------------------------------------------


def serve_bare(port: int, ws: str) -> None:
    """Child process: the baseline, a bare Starlette broadcast loop."""
    import redis.asyncio
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    clients: set[WebSocket] = set()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        clients.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            clients.discard(websocket)

    async def broadcast() -> None:
        pubsub = redis.asyncio.Redis.from_url(EVENTS).pubsub()
        await pubsub.subscribe(BARE_CHANNEL)
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            text = message["data"].decode()
            for websocket in list(clients):
                try:
                    await websocket.send_text(text)
                except Exception:  # gone meanwhile
                    clients.discard(websocket)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(broadcast())
        yield
        task.cancel()

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws=ws,
                ws_ping_interval=PING_SECONDS, ws_ping_timeout=PING_SECONDS,
                ws_per_message_deflate=COMPRESSION)  # fmt: skip


def start_server(kind: str, port: int, ws: str, data_dir: Path) -> subprocess.Popen[bytes]:
    if kind == "bare":
        argv = [sys.executable, __file__, "--serve-bare", str(port), "--ws", ws]
    else:
        argv = [sys.executable, "-m", "repolens", "serve", "--port", str(port)]
    env = {**os.environ, "REPOLENS_DATA_DIR": str(data_dir), "REPOLENS_EVENTS_URL": EVENTS,
           "REPOLENS_WS_PING_SECONDS": str(PING_SECONDS), "REPOLENS_WS_PROTOCOL": ws,
           "REPOLENS_WS_COMPRESSION": str(COMPRESSION).lower(),
           # every client of the benchmark comes from loopback
           "REPOLENS_WS_CONNECTIONS_PER_ADDRESS": "100000", "REPOLENS_API_TOKEN": TOKEN,
           "REPOLENS_CLI_CONFIG": str(data_dir / "cli.toml")}  # fmt: skip
    process = subprocess.Popen(argv, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process
        if process.poll() is not None:
            raise SystemExit(f"the {kind} server exited with {process.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"the {kind} server did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no RSS for {pid}")


# --- the clients -----------------------------------------------------------------------------


def clients(kind: str, url: str, count: int) -> None:
    """Child process: COUNT subscribers. Prints `ready` once all are subscribed;
    on a line on stdin, prints their latencies (JSON) and exits."""
    asyncio.run(_clients(kind, url, count))


async def _clients(kind: str, url: str, count: int) -> None:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    closed: list[str] = []
    subscribed = 0
    everyone = asyncio.Event()
    opening = asyncio.Semaphore(50)

    async def one() -> None:
        nonlocal subscribed
        async with opening:
            try:
                websocket = await connect(url, open_timeout=60, ping_interval=None, max_queue=None,
                                          additional_headers=AUTH)  # fmt: skip
                if kind == "repolens":
                    await websocket.send(json.dumps({"type": "subscribe", "channel": "global"}))
                    while json.loads(await websocket.recv()).get("type") != "subscribed":
                        pass
            except Exception as exc:  # the run is void: say why and stop
                print(f"failed: {exc!r}", flush=True)
                os._exit(1)
        subscribed += 1
        if subscribed == count:
            everyone.set()
        try:
            async for text in websocket:
                message = json.loads(text)
                data = message.get("data")
                if isinstance(data, dict) and "sent" in data:
                    latencies.append(time.time() - data["sent"])
        except Exception as exc:  # counted, not fatal
            closed.append(repr(exc))

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await everyone.wait()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    print(json.dumps({"latencies": latencies, "closed": closed}), flush=True)


def start_clients(kind: str, url: str, count: int) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, "--clients", kind, "--url", url, "--count", str(count)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip


# --- the publisher ---------------------------------------------------------------------------


def publisher(kind: str) -> Any:
    """A function publishing one event that carries the time it was sent."""
    if kind == "bare":
        client = redis.Redis.from_url(EVENTS)
        seq = iter(range(1, 1 << 30))

        def bare(number: int) -> None:
            # The same fields repolens sends, so both put the same bytes on the wire.
            message = {"v": 1, "seq": next(seq), "type": "queue.stats", "channel": "global",
                       "ts": "2026-11-22T00:00:00.000Z",
                       "data": {"sent": time.time(), "n": number}}  # fmt: skip
            client.publish(BARE_CHANNEL, json.dumps(message, separators=(",", ":")))

        return bare
    from repolens.realtime.backends.redis import RedisHub

    hub = RedisHub(EVENTS)

    def ours(number: int) -> None:
        hub.publish("queue.stats", ["global"], {"sent": time.time(), "n": number})

    return ours


# --- one measurement -------------------------------------------------------------------------


def measure(kind: str, subscribers: int, rate: float, seconds: float, processes: int, ws: str,
            scratch: Path) -> dict[str, Any]:  # fmt: skip
    redis.Redis.from_url(EVENTS).flushdb()
    port = free_port()
    server = start_server(kind, port, ws, scratch / kind)
    swarm: list[subprocess.Popen[str]] = []
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        warm = start_clients(kind, url, 1)  # first connection's imports and pools
        expect(warm, "ready")
        finish(warm)
        time.sleep(1.0)
        before = rss_kib(server.pid)
        shares = [subscribers // processes + (i < subscribers % processes)
                  for i in range(processes)]  # fmt: skip
        swarm = [start_clients(kind, url, share) for share in shares]
        for process in swarm:
            expect(process, "ready")
        time.sleep(2.0)
        connected = rss_kib(server.pid)
        publish = publisher(kind)
        cpu_before, began = cpu_seconds(server.pid), time.monotonic()
        events = int(rate * seconds)
        for number in range(events):
            delay = began + number / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            publish(number)
        time.sleep(1.0)  # the last deliveries
        cpu = cpu_seconds(server.pid) - cpu_before
        results = [finish(process) for process in swarm]
        swarm = []
    finally:
        for process in swarm:
            process.kill()
        stop(server)
    latencies = sorted(value for result in results for value in result["latencies"])
    delivered = len(latencies)
    return {"kind": kind, "events": events, "expected": events * subscribers,
            "delivered": delivered, "closed": sum(len(r["closed"]) for r in results),
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "max": latencies[-1] if latencies else float("nan"),
            "cpu": cpu, "cpu_per_message": cpu / max(delivered, 1),
            "rss_before": before, "rss_connected": connected,
            "rss_per_connection": (connected - before) / subscribers}  # fmt: skip


def expect(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdout is not None
    said = process.stdout.readline().strip()
    if said != line:
        raise SystemExit(f"a client process said {said!r} (exit {process.poll()})")


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("done\n")
    process.stdin.flush()
    result: dict[str, Any] = json.loads(process.stdout.readline())
    process.wait(30)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--only", choices=["bare", "repolens"])
    parser.add_argument(
        "--ws",
        default="websockets-sansio",
        choices=["websockets", "websockets-sansio", "wsproto"],
        help="uvicorn's WebSocket implementation, for both servers",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--clients", choices=["bare", "repolens"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        return serve_bare(args.serve_bare, args.ws)
    if args.clients:
        return clients(args.clients, args.url, args.count)
    kinds = [args.only] if args.only else ["bare", "repolens"]
    with tempfile.TemporaryDirectory(prefix="repolens-bench-") as scratch:
        rows = [measure(kind, args.subscribers, args.rate, args.seconds, args.client_processes,
                        args.ws, Path(scratch)) for kind in kinds]  # fmt: skip
    report(rows, args)


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"{args.subscribers} subscribers on one channel, {args.rate:g} events/s for "
        f"{args.seconds:g} s, {args.client_processes} client processes, uvicorn ws={args.ws}; "
        f"machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        "| server | delivered | p50 (ms) | p99 (ms) | max (ms) | CPU (s) | CPU/msg (µs) "
        "| × bare | RSS/idle conn (KB) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = next((row["cpu_per_message"] for row in rows if row["kind"] == "bare"), None)
    for row in rows:
        ratio = f"{row['cpu_per_message'] / base:.2f}" if base else ""
        print(
            f"| {row['kind']} | {row['delivered']}/{row['expected']} | {row['p50'] * 1000:.1f} "
            f"| {row['p99'] * 1000:.1f} | {row['max'] * 1000:.1f} | {row['cpu']:.1f} "
            f"| {row['cpu_per_message'] * 1e6:.1f} | {ratio} "
            f"| {row['rss_per_connection'] * 1.024:.1f} |"
        )
        if row["closed"]:
            print(f"  ({row['closed']} client connections ended early)")


if __name__ == "__main__":
    main()
