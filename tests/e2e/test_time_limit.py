"""A scan that hangs past the hard time limit is killed by Celery; its run fails
once, with the reason, and is not started again."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, outbox, recovery
from repolens.jobs.backends import celery
from repolens.settings import Settings
from repolens.storage import db, projects, runs
from tests.conftest import Repo
from tests.e2e.test_worker_crash import broker_url, settings, wait_for
from tests.workers import start_stuck_worker, stop

__all__ = ["broker_url", "settings"]  # fixtures shared with the crash test


def test_a_scan_killed_at_the_hard_time_limit_fails_its_run_once_and_the_worker_goes_on(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    stuck_repo, ok_repo = make_repo("stuck"), make_repo("ok")
    for repo in (stuck_repo, ok_repo):
        repo.commit({"app.py": "import os\n"})
    sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
    queue = celery.CeleryQueue(celery.create(settings))
    with sessions.begin() as session:
        stuck_project = projects.create(session, name="stuck", repository_url=str(stuck_repo.path))
        ok_project = projects.create(session, name="ok", repository_url=str(ok_repo.path))
        stuck = lifecycle.queue(session, stuck_project.id, "manual").id
        after = lifecycle.queue(session, ok_project.id, "manual").id
    worker = start_stuck_worker(settings, "t0", tmp_path / "t0.log",
                                REPOLENS_JOB_SOFT_TIME_LIMIT_SECONDS="1",
                                REPOLENS_JOB_TIME_LIMIT_SECONDS="4")  # fmt: skip
    try:
        outbox.dispatch(sessions, queue)
        wait_for(lambda: runs.get_status(sessions, stuck) == "failed", 60, lambda: None)
        with sessions() as session:
            run = runs.get(session, stuck)
            assert run.error == "stopped at the hard time limit (4 s)"
            assert run.attempts == 1

        wait_for(lambda: runs.get_status(sessions, after) == "completed", 60, lambda: None)
        time.sleep(2 * settings.heartbeat_stale_seconds)
        assert recovery.requeue_orphans(sessions, timedelta(seconds=1)) == []
        with sessions() as session:
            assert (runs.get(session, stuck).status, runs.get(session, stuck).attempts) == (
                "failed",
                1,
            )
    finally:
        stop(worker, signal.SIGTERM)
        log = (tmp_path / "t0.log").read_text(errors="replace")
    assert "Hard time limit (4" in log
