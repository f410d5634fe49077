"""Benchmark: signed push deliveries at increasing rates against one API process.

    python bench/intake.py [--seconds 5] [--rates 100,200,300,400,500,600,800]

Needs the machine's PostgreSQL and Redis. In one run, each server alone in its
own process under uvicorn with the same options:
  1. bare: a FastAPI endpoint that reads the body, checks its GitHub signature
     and answers 202, nothing more;
  2. repolens: `repolens serve` in the distributed deployment (PostgreSQL, a Redis
     broker; no worker, so every accepted push stays queued), receiving at
     `/webhooks/github` for a project that watches the repository: each delivery
     is verified, recorded, matched, turned into a run with its outbox message,
     published as `run.queued` and sent to the broker before it is answered.
Each delivery is a distinct push (its own delivery id and commit), sent open-loop
at a fixed rate for SECONDS. A rate is sustained when every delivery got a 2xx
and the p99 of their latencies is at most 50 ms. Reported: each rate's p50/p99,
the highest sustained rate of each server, and their ratio.

    python bench/intake.py --feedback [--pushes 5]

Push to feedback: `repolens serve` (embedded), a loopback git server as the
forge's git side and a fake forge API (the test suite's); each push of a small
repository is delivered signed, and timed until the forge is told the verdict
(the commit status).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import uvloop
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from processes import percentile, stop

SECRET = "bench-intake-secret"
TOKEN = "bench-instance-token"  # the server's REPOLENS_API_TOKEN: the benchmark adds the project
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BROKER = "redis://127.0.0.1:6379/12"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REPOSITORY = {"full_name": "octo/hello", "clone_url": "https://github.com/octo/hello.git"}
P99_TARGET = 0.050


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/github")
    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        given = request.headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"detail": "bad signature"}, status_code=401)
        return JSONResponse({"status": "ok"}, status_code=202)

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(kind: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "bare":
        argv = [sys.executable, __file__, "--serve-bare", str(port)]
    else:
        argv = [sys.executable, "-m", "repolens", "serve", "--port", str(port)]
    env = {
        **env,
        "REPOLENS_API_TOKEN": TOKEN,
        "REPOLENS_CLI_CONFIG": str(Path(env["REPOLENS_DATA_DIR"]) / "cli.toml"),
    }
    process = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process
        time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"the {kind} server did not start")


def delivery() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40,
                       "after": uuid.uuid4().hex + uuid.uuid4().hex[:8],
                       "repository": REPOSITORY}).encode()  # fmt: skip
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
                  "X-Hub-Signature-256": f"sha256={signature}",
                  "Content-Type": "application/json"}  # fmt: skip


class Client:
    """A lean HTTP/1.1 client over keep-alive connections, so the load generator,
    on the same two cores, costs the servers as little as it can: a request is
    one write and a response is read by its Content-Length, nothing more."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """POST BODY to PATH; returns the status code."""
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self._all.append(writer)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in lines
                       if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
        await reader.readexactly(length)
        self._idle.append((reader, writer))
        return int(status_line.split()[1])

    def close(self) -> None:
        for writer in self._all:
            writer.close()


async def load(port: int, rate: int, seconds: float) -> tuple[list[float], int]:
    """Send RATE deliveries a second for SECONDS, open-loop; returns the latency
    of each answered delivery, from the moment it was due (so a server that falls
    behind is charged for the wait), and how many failed (no answer, or not 2xx)."""
    prepared = [delivery() for _ in range(int(rate * seconds))]
    latencies: list[float] = []
    failed = 0
    client = Client(port)

    async def send(due: float, body: bytes, headers: dict[str, str]) -> None:
        nonlocal failed
        try:
            status = await asyncio.wait_for(client.post("/webhooks/github", body, headers), 10)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            failed += 1
            return
        if 200 <= status < 300:
            latencies.append(time.perf_counter() - due)
        else:
            failed += 1

    tasks = []
    began = time.perf_counter()
    for index, (body, headers) in enumerate(prepared):
        due = began + index / rate
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(send(due, body, headers)))
    await asyncio.gather(*tasks)
    client.close()
    return latencies, failed


def measure(kind: str, port: int, rates: list[int], seconds: float) -> list[dict[str, Any]]:
    uvloop.run(load(port, 50, 1.0))  # warm up: connections, caches, the first queries
    rows = []
    for rate in rates:
        latencies, failed = uvloop.run(load(port, rate, seconds))
        p99 = percentile(latencies, 0.99)
        rows.append({"server": kind, "rate": rate, "ok": len(latencies), "failed": failed,
                     "p50": percentile(latencies, 0.5), "p99": p99,
                     "sustained": failed == 0 and p99 <= P99_TARGET})  # fmt: skip
        print(f"  {kind} {rate}/s: p50 {rows[-1]['p50'] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
              f" failed {failed}", flush=True)  # fmt: skip
        if p99 > 4 * P99_TARGET or failed > rate:
            break  # far past what it sustains: higher rates only pile up
    return rows


def prepare_database() -> str:
    name = f"bench_intake_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def run(rates: list[int], seconds: float, scratch: Path,
        servers: tuple[str, ...] = ("bare", "repolens")) -> None:  # fmt: skip
    name = prepare_database()
    database = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    redis.Redis.from_url(BROKER).flushdb()
    env = {"REPOLENS_DATABASE_URL": database, "REPOLENS_BROKER_URL": BROKER,
           "REPOLENS_DATA_DIR": str(scratch), "REPOLENS_GITHUB_WEBHOOK_SECRET": SECRET}  # fmt: skip
    rows: list[dict[str, Any]] = []
    try:
        for kind in servers:
            port = free_port()
            server = start(kind, port, env)
            try:
                if kind == "repolens":
                    made = httpx.post(f"http://127.0.0.1:{port}/api/v1/projects", timeout=30,
                                      headers=AUTH,
                                      json={"name": "hello",
                                            "repository_url": REPOSITORY["clone_url"]})  # fmt: skip
                    made.raise_for_status()
                rows += measure(kind, port, rates, seconds)
            finally:
                stop(server)
            redis.Redis.from_url(BROKER).flushdb()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report(rows, seconds)


def report(rows: list[dict[str, Any]], seconds: float) -> None:
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
          f" {seconds:g} s per rate; PostgreSQL, Redis broker")  # fmt: skip
    print("| server | rate (/s) | answered | failed | p50 (ms) | p99 (ms) | sustained |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(f"| {row['server']} | {row['rate']} | {row['ok']} | {row['failed']} | "
              f"{row['p50'] * 1000:.1f} | {row['p99'] * 1000:.1f} | "
              f"{'yes' if row['sustained'] else 'no'} |")  # fmt: skip
    best = {kind: max((r["rate"] for r in rows if r["server"] == kind and r["sustained"]),
                      default=0) for kind in ("bare", "repolens")}  # fmt: skip
    ratio = best["repolens"] / best["bare"] if best["bare"] else float("nan")
    print(f"\nhighest sustained rate: bare {best['bare']}/s, repolens {best['repolens']}/s "
          f"({ratio:.2f} × bare)")  # fmt: skip


def feedback(pushes: int, scratch: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test suite's fakes
    from tests.conftest import Repo
    from tests.forge import FakeForge
    from tests.git_server import GitServer

    forge, git = FakeForge(), GitServer(scratch / "forge")
    url, port = git.url("octo/hello"), free_port()
    env = {
        "REPOLENS_DATA_DIR": str(scratch / "data"),
        "REPOLENS_CACHE_DIR": str(scratch / "c"),
        "REPOLENS_GITHUB_WEBHOOK_SECRET": SECRET,
        "REPOLENS_GITHUB_API_URL": forge.url,
        "REPOLENS_GITHUB_TOKEN": "bench",
        "REPOLENS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    server = start("repolens", port, env)
    times = []
    try:
        httpx.post(f"http://127.0.0.1:{port}/api/v1/projects", timeout=30, headers=AUTH,
                   json={"name": "hello", "repository_url": url}).raise_for_status()  # fmt: skip
        repo = Repo(scratch / "work")
        for number in range(pushes):
            head = repo.commit({f"mod{number}.py": f"import os\n\n\ndef f{number}(x):\n"
                                                    "    return eval(x)\n"})  # fmt: skip
            git.publish("octo/hello", repo.path)
            body = json.dumps({"ref": "refs/heads/main", "after": head,
                               "repository": {"full_name": "octo/hello", "clone_url": url}}
                              ).encode()  # fmt: skip
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            began = time.perf_counter()
            httpx.post(
                f"http://127.0.0.1:{port}/webhooks/github",
                content=body,
                timeout=10,
                headers={
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": f"sha256={signature}",
                },
            ).raise_for_status()
            while not [c for c in forge.made("POST", rf".*/statuses/{head}")
                       if c.body["state"] in ("success", "failure")]:  # fmt: skip
                time.sleep(0.02)
            times.append(time.perf_counter() - began)
            print(f"  push {number + 1}: {times[-1]:.2f} s", flush=True)
    finally:
        stop(server)
        forge.shutdown()
        git.shutdown()
    print(f"\npush to feedback (delivery sent → commit status with the verdict), {pushes} pushes "
          f"of a small repository, embedded: first {times[0]:.2f} s (cold), median of the rest "
          f"{percentile(times[1:] or times, 0.5):.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedback", action="store_true")
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="100,200,300,400,500,600,800,1000")
    parser.add_argument("--servers", default="bare,repolens", help="which of bare,repolens")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        import uvicorn

        # As `repolens serve` runs: info logging, the access log on.
        uvicorn.run(bare_app(), host="127.0.0.1", port=args.serve_bare, log_level="info")
        return
    with tempfile.TemporaryDirectory(prefix="repolens-intake-") as scratch:
        if args.feedback:
            feedback(args.pushes, Path(scratch))
        else:
            run([int(rate) for rate in args.rates.split(",")], args.seconds, Path(scratch),
                tuple(args.servers.split(",")))  # fmt: skip


if __name__ == "__main__":
    main()
