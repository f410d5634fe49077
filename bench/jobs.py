"""Benchmark: what repolens adds between a trigger and a worker starting on it.

    python bench/jobs.py [--triggers 5000]

Needs the machine's PostgreSQL and Redis. In one run, with one idle worker process
(prefork, concurrency 1, late acks, prefetch 1) each time:
  1. raw Celery: `.delay()` of a no-op task, its start time reported by the task;
  2. repolens: a trigger writes the run row and its outbox message (one statement
     on PostgreSQL) and commits; as it commits, `run.queued` is published on Redis
     and the message is sent from memory; the worker claims the run (`started_at`);
     the scan itself is replaced by a no-op, as it is not what is measured. That is
     what a push or a schedule writes; a manual refresh also records itself.
Latency is trigger-to-start with the worker idle: the next trigger goes out when
the worker's previous task has returned (each worker reports that on a Redis list,
so neither side polls). Throughput is triggers accepted per second, back to back.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery
from celery.signals import task_postrun
from processes import percentile, stop
from sqlalchemy import select

from repolens import scoring
from repolens.jobs import lifecycle, outbox
from repolens.jobs.backends import celery as backend
from repolens.realtime import hub
from repolens.realtime.feed import Feed
from repolens.reports.model import InventoryReport, Report, Target
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects

BROKER = "redis://127.0.0.1:6379/14"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
RAW_STARTS = "bench:raw:starts"
DONE = "bench:done"  # each task that returned: the worker is idle again


def noop_scan(request: Any, settings: Settings, **_: Any) -> Report:
    moment = datetime.now(UTC)
    return Report(tool_version="bench", target=Target(label=request.location),
                  started_at=moment, finished_at=moment, duration_seconds=0.0,
                  inventory=InventoryReport(files=0, lines=0, languages={}, skipped={}),
                  steps=[], findings=[], score=scoring.score([], 0))  # fmt: skip


def raw_app() -> Celery:
    app = Celery("raw", broker=BROKER, set_as_current=False)
    app.conf.update({k: v for k, v in backend.configuration(Settings()).items()
                     if k != "beat_schedule"})  # fmt: skip
    starts = redis.Redis.from_url(BROKER)

    @app.task(name="bench.noop")
    def noop(sent: float) -> None:
        starts.rpush(RAW_STARTS, f"{sent} {time.time()}")

    return app


def worker(kind: str, database: str, data_dir: Path) -> None:
    """Child process: one worker of the given kind."""
    if kind == "raw":
        app = raw_app()
    else:
        # The projects' repositories are local directories, admitted under this root.
        settings = Settings(database_url=database, broker_url=BROKER, data_dir=data_dir,
                            local_repository_roots=[data_dir])  # fmt: skip
        app = backend.create(settings, scanner=noop_scan)
    done = redis.Redis.from_url(BROKER)
    task_postrun.connect(lambda **_: done.rpush(DONE, 1), weak=False)
    app.worker_main(["worker", "--concurrency", "1", "--loglevel", "WARNING", "--queues",
                     "high,default,low", "--without-gossip", "--without-mingle",
                     "--hostname", f"{kind}@bench"])  # fmt: skip


def start_worker(kind: str, database: str, data_dir: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, __file__, "--worker", kind, "--database", database,
            "--data-dir", str(data_dir)]  # fmt: skip
    return subprocess.Popen(argv,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def measure_raw(triggers: int) -> tuple[list[float], float]:
    app, client = raw_app(), redis.Redis.from_url(BROKER)
    noop = app.tasks["bench.noop"]
    noop.delay(time.time())
    client.blpop(RAW_STARTS, 30)  # the worker is up
    client.blpop(DONE, 30)
    latencies = []
    for _ in range(triggers):
        noop.delay(time.time())
        _, item = client.blpop(RAW_STARTS, 30)
        sent, started = map(float, item.split())
        latencies.append(started - sent)
        client.blpop(DONE, 30)  # idle again before the next trigger
    began = time.perf_counter()
    for _ in range(triggers):
        noop.delay(time.time())
    rate = triggers / (time.perf_counter() - began)
    return latencies, rate


def measure_repolens(triggers: int, database: str, tmp: Path) -> tuple[list[float], float]:
    settings = Settings(database_url=database, broker_url=BROKER)
    sessions = db.sessions(db.engine(settings))
    jobs = backend.CeleryQueue(backend.create(settings))
    # Sent as it commits, after `run.queued` is published on Redis: what the API does.
    outbox.send_on_commit(sessions, jobs, Feed(hub.create(settings)))
    wake, stopping = threading.Event(), threading.Event()

    def dispatcher() -> None:  # the API process's dispatcher thread
        while not stopping.is_set():
            outbox.dispatch(sessions, jobs)
            wake.wait(0.5)
            wake.clear()

    thread = threading.Thread(target=dispatcher, daemon=True)
    thread.start()
    with sessions.begin() as session:
        project_id = projects.create(session, name="bench", repository_url=str(tmp)).id

    def trigger() -> int:  # what a push or a schedule writes
        with sessions.begin() as session:
            run = lifecycle.queue(session, project_id, "manual")
            run_id = run.id
        return run_id

    done, sent = redis.Redis.from_url(BROKER), dict[int, float]()
    try:
        for _ in range(triggers + 1):  # the first one waits for the worker to come up
            moment = time.time()
            run_id = trigger()
            sent[run_id] = moment
            done.blpop(DONE, 30)  # idle again before the next trigger
        began = time.perf_counter()
        for _ in range(triggers):
            trigger()
        rate = triggers / (time.perf_counter() - began)
    finally:
        stopping.set()
        wake.set()
        thread.join(5)
    with sessions() as session:  # read afterwards: polling would compete with the worker
        started = select(models.Run.id, models.Run.started_at).where(models.Run.id.in_(sent))
        rows = session.execute(started.order_by(models.Run.id)).all()
    latencies = [began.timestamp() - sent[run_id] for run_id, began in rows[1:] if began]
    return latencies, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=5000)
    parser.add_argument("--worker", choices=["raw", "repolens"])
    parser.add_argument("--database")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.database, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="repolens-bench-") as scratch:
        run(args.triggers, Path(scratch))


def run(triggers: int, scratch: Path) -> None:
    name = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    migrate.upgrade(Settings(database_url=database))
    redis.Redis.from_url(BROKER).flushdb()
    try:
        raw_worker = start_worker("raw", database, scratch)
        try:
            raw, raw_rate = measure_raw(triggers)
        finally:
            stop(raw_worker)
        redis.Redis.from_url(BROKER).flushdb()
        ours_worker = start_worker("repolens", database, scratch)
        try:
            ours, ours_rate = measure_repolens(triggers, database, scratch)
        finally:
            stop(ours_worker)
    finally:
        redis.Redis.from_url(BROKER).flushdb()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"{triggers} triggers each; machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; Redis broker, PostgreSQL")  # fmt: skip
    print("| path | p50 start (ms) | p99 start (ms) | triggers/s | p50 × raw | added ÷ raw |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base = statistics.median(raw)
    for label, values, rate in (("raw Celery .delay()", raw, raw_rate),
                                ("repolens trigger", ours, ours_rate)):  # fmt: skip
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        added = (p50 - base) / base
        print(f"| {label} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {rate:.0f} | {p50 / base:.2f} "
              f"| {added:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
