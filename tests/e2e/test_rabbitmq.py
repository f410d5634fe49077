"""The same runs through RabbitMQ: the broker is a URL away. (Strict priority
order across queues is Redis's `queue_order_strategy`; on RabbitMQ, give the
high queue workers of its own.)"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, outbox
from repolens.jobs.backends import celery
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects
from tests.conftest import Repo
from tests.e2e.test_worker_crash import wait_for
from tests.integration.databases import database_url
from tests.workers import start_worker, stop

RABBIT = "amqp://guest:guest@127.0.0.1:5672"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    vhost = f"repolens-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        with database_url("postgresql", tmp_path) as url:
            broker = f"{RABBIT}/{vhost}"
            data, cache = tmp_path / "data", tmp_path / "cache"
            settings = Settings(database_url=url, broker_url=broker, data_dir=data, cache_dir=cache)
            migrate.upgrade(settings)
            yield settings
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> None:
    import subprocess

    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def test_runs_go_through_rabbitmq_queues_and_complete(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import os\nimport subprocess\nsubprocess.call(x, shell=True)\n"})
    sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
    queue = celery.CeleryQueue(celery.create(settings))
    with sessions.begin() as session:
        project = projects.create(session, name="p", repository_url=str(repo.path))
        lifecycle.queue(session, project.id, "schedule", priority="low")
        high = lifecycle.queue(session, project.id, "manual", priority="high").id
    assert outbox.dispatch(sessions, queue) == 2
    assert queue.depth() == {"high": 1, "default": 0, "low": 1, "notify": 0, "report": 0}

    worker = start_worker(settings, "r0", tmp_path / "r0.log")
    try:

        def both_completed_with_their_pdfs() -> bool:
            with sessions() as session:
                done = session.scalars(select(models.Run.status)).all() == ["completed"] * 2
                pdfs = select(func.count()).where(models.Report.format == "pdf")
                return done and session.scalar(pdfs) == 2

        wait_for(both_completed_with_their_pdfs, 120, lambda: None)
        everything = ["default", "high", "low", "notify", "report"]
        assert queue.workers() == {"r0@e2e": everything}
    finally:
        stop(worker, signal.SIGTERM)
    with sessions() as session:
        assert session.scalar(select(models.Run.summary).where(models.Run.id == high))["findings"]
    assert queue.depth() == {"high": 0, "default": 0, "low": 0, "notify": 0, "report": 0}
