"""A running run that ignores its cancel flag is terminated after the grace period,
and the worker goes on with the next run."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, outbox, recovery
from repolens.jobs.backends import celery
from repolens.settings import Settings
from repolens.storage import db, projects, runs
from repolens.storage.models import now
from tests.conftest import Repo
from tests.e2e.test_worker_crash import broker_url, settings, wait_for
from tests.workers import start_stuck_worker, stop

__all__ = ["broker_url", "settings"]  # fixtures shared with the crash test


def test_a_run_that_ignores_cancel_is_terminated_and_the_worker_carries_on(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    stuck_repo, ok_repo = make_repo("stuck"), make_repo("ok")
    for repo in (stuck_repo, ok_repo):
        repo.commit({"app.py": "import os\n"})
    sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
    queue = celery.CeleryQueue(celery.create(settings))
    with sessions.begin() as session:
        project = projects.create(session, name="stuck", repository_url=str(stuck_repo.path))
        stuck = lifecycle.queue(session, project.id, "manual").id
    worker = start_stuck_worker(settings, "s0", tmp_path / "s0.log")
    try:
        outbox.dispatch(sessions, queue)
        wait_for(lambda: runs.get_status(sessions, stuck) == "running", 60, lambda: None)
        with sessions.begin() as session:
            run = runs.get(session, stuck)
            run.cancel_requested, run.cancel_requested_at = True, now()

        grace = timedelta(seconds=1)
        assert recovery.terminate_overdue(sessions, queue, grace) == []  # still in its grace
        wait_for(lambda: recovery.terminate_overdue(sessions, queue, grace) == [stuck], 10,
                 lambda: None)  # fmt: skip
        with sessions() as session:
            ended = runs.get(session, stuck)
            assert ended.status == "cancelled" and "grace period" in (ended.error or "")

        with sessions.begin() as session:
            project = projects.create(session, name="ok", repository_url=str(ok_repo.path))
            after = lifecycle.queue(session, project.id, "manual").id
        outbox.dispatch(sessions, queue)
        wait_for(lambda: runs.get_status(sessions, after) == "completed", 60, lambda: None)
    finally:
        stop(worker, signal.SIGTERM)
