"""Triggers that arrive while Redis is down are not lost: they wait in the
outbox and run once Redis is back."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, outbox
from repolens.jobs.backends import celery
from repolens.realtime.feed import Feed
from repolens.settings import Settings
from repolens.storage import db, models, projects
from tests.conftest import Repo
from tests.e2e.test_worker_crash import broker_url, settings, wait_for
from tests.workers import start_worker, stop

__all__ = ["broker_url", "settings"]  # fixtures shared with the crash test

START_REDIS = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port",
               "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]  # fmt: skip


def redis_is_up() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379).ping())
    except redis.ConnectionError:
        return False


def test_triggers_during_a_redis_outage_all_run_after_it_returns(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
    queue = celery.CeleryQueue(celery.create(settings))
    sender = outbox.send_on_commit(sessions, queue, Feed(None))  # as the API sends its triggers
    worker = start_worker(settings, "w0", tmp_path / "w0.log")
    try:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False)
        wait_for(lambda: not redis_is_up(), 10, lambda: None)

        with sessions.begin() as session:
            project = projects.create(session, name="p", repository_url=str(repo.path))
            ids = [lifecycle.queue(session, project.id, "manual").id for _ in range(5)]
        sender.drain()
        assert outbox.dispatch(sessions, queue) == 0  # nothing can be sent, nothing is lost
        with sessions() as session:
            pending = session.scalars(
                select(models.OutboxMessage).order_by(models.OutboxMessage.id)
            )
            messages = pending.all()
            assert len(messages) == 5 and all(m.dispatched_at is None for m in messages)
            assert all("Error" in (m.last_error or "") for m in messages)
    finally:
        if not redis_is_up():
            subprocess.run(START_REDIS, check=True)
        wait_for(redis_is_up, 20, lambda: None)
    try:
        redis.Redis.from_url(str(settings.broker)).ping()

        def all_completed_and_sent() -> bool:  # the reports' messages from the worker too
            with sessions() as session:
                statuses = session.scalars(select(models.Run.status)).all()
                unsent = session.scalars(
                    select(models.OutboxMessage.id).where(
                        models.OutboxMessage.dispatched_at.is_(None)
                    )
                ).all()
                return statuses == ["completed"] * 5 and not unsent

        wait_for(all_completed_and_sent, 120, lambda: outbox.dispatch(sessions, queue))
    finally:
        stop(worker, signal.SIGTERM)
    with sessions() as session:
        assert sorted(session.scalars(select(models.Run.id))) == ids
        assert all(m.dispatched_at for m in session.scalars(select(models.OutboxMessage)))
