"""Flower, Celery's monitor, works against the distributed deployment:
`repolens flower` on the same broker sees the workers and the runs they ran."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, outbox
from repolens.jobs.backends import celery
from repolens.realtime.feed import Feed
from repolens.settings import Settings
from repolens.storage import db, projects, runs
from tests.conftest import Repo
from tests.e2e.test_worker_crash import broker_url, settings, wait_for
from tests.workers import start_worker, stop

__all__ = ["broker_url", "settings"]  # fixtures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_flower_sees_the_workers_and_the_scans_they_ran(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    port = free_port()
    env = {**os.environ, "REPOLENS_BROKER_URL": str(settings.broker),
           "FLOWER_UNAUTHENTICATED_API": "true"}  # fmt: skip
    monitor = subprocess.Popen(
        [sys.executable, "-m", "repolens", "flower", "--port", str(port)], env=env,
        stdout=(tmp_path / "flower.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    worker = start_worker(settings, "f0", tmp_path / "f0.log")
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=5)
    seen: dict[str, Any] = {}

    def answers(path: str) -> Callable[[], bool]:
        def check() -> bool:
            try:
                seen[path] = api.get(path).json()
            except (httpx.HTTPError, ValueError):
                return False
            return bool(seen[path])

        return check

    try:
        wait_for(answers("/workers?refresh=1"), 60, lambda: None)
        assert "f0@e2e" in seen["/workers?refresh=1"]

        sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
        outbox.send_on_commit(sessions, celery.CeleryQueue(celery.create(settings)), Feed(None))
        with sessions.begin() as session:
            project = projects.create(session, name="p", repository_url=str(repo.path))
            run = lifecycle.queue(session, project.id, "manual", priority="high")

        def scan_succeeded() -> bool:
            task = seen.get("/tasks", {}).get(run.job_id, {})
            return bool(task.get("state") == "SUCCESS")

        wait_for(lambda: answers("/tasks")() and scan_succeeded(), 90, lambda: None)
        task = seen["/tasks"][run.job_id]
        assert (task["name"], task["worker"]) == ("repolens.scan", "f0@e2e")
        assert f"'run_id': {run.id}" in task["kwargs"]
        assert runs.get_status(sessions, run.id) == "completed"
    finally:
        api.close()
        stop(worker)
        stop(monitor)
