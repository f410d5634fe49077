"""Distributed runs survive a worker killed mid-scan: real worker processes,
real Redis broker, real PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens.analyzers.registry import Registry
from repolens.jobs import lifecycle, outbox, recovery
from repolens.jobs.backends import celery
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects
from repolens.storage.models import TERMINAL
from tests.conftest import Repo
from tests.integration.databases import database_url, redis_url
from tests.workers import start_worker, stop

RUNS = 20


@pytest.fixture
def broker_url() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, broker_url: str) -> Iterator[Settings]:
    with database_url("postgresql", tmp_path) as url:
        settings = Settings(database_url=url, broker_url=broker_url, data_dir=tmp_path / "data",
                            cache_dir=tmp_path / "cache", heartbeat_stale_seconds=3,
                            broker_visibility_timeout_seconds=10)  # fmt: skip
        migrate.upgrade(settings)
        yield settings


def wait_for(condition: Callable[[], bool], seconds: float, tick: Callable[[], object]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        tick()
        time.sleep(0.5)


def test_every_run_completes_exactly_once_when_a_worker_is_killed_mid_run(
    settings: Settings, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({f"pkg/m{i}.py": f"import os\nimport subprocess\n\ndef f{i}(cmd):\n"
                 f"    subprocess.call(cmd, shell=True)\n" for i in range(60)})  # fmt: skip
    sessions: sessionmaker[Session] = db.sessions(db.engine(settings))
    with sessions.begin() as session:
        project = projects.create(session, name="p", repository_url=str(repo.path))
        ids = [lifecycle.queue(session, project.id, "manual").id for _ in range(RUNS)]
    queue = celery.CeleryQueue(celery.create(settings))

    def beat() -> None:  # what `repolens beat` does on its schedule
        recovery.requeue_orphans(sessions, timedelta(seconds=settings.heartbeat_stale_seconds))
        outbox.dispatch(sessions, queue)

    workers = [start_worker(settings, f"w{n}", tmp_path / f"w{n}.log") for n in range(2)]
    try:
        assert outbox.dispatch(sessions, queue) == RUNS

        scanning = select(models.Run.id).where(
            models.Run.status == "running",
            models.Run.worker == "w0@e2e",
            models.Run.current_step == "analyze",
        )
        victims: list[int] = []

        def victim_is_scanning() -> bool:
            with sessions() as session:
                victims[:] = session.scalars(scanning).all()
            return bool(victims)

        wait_for(victim_is_scanning, 60, lambda: None)
        (victim,) = victims
        stop(workers[0], signal.SIGKILL)  # the whole process group, children included
        workers[0] = start_worker(settings, "w2", tmp_path / "w2.log")

        last: list[tuple[int, str, int]] = []

        def all_done() -> bool:
            with sessions() as session:
                rows = session.execute(select(models.Run.id, models.Run.status,
                                              models.Run.attempts)).all()  # fmt: skip
                last[:] = [tuple(row) for row in rows if row[1] not in TERMINAL]
                return not last

        try:
            wait_for(all_done, 120, beat)
        except AssertionError as exc:
            raise AssertionError(f"still unfinished (id, status, attempts): {last}") from exc

        def all_rendered() -> bool:  # the workers also consume the `report` queue
            with sessions() as session:
                pdfs = select(func.count()).where(models.Report.format == "pdf")
                return session.scalar(pdfs) == RUNS

        wait_for(all_rendered, 120, beat)
    finally:
        for worker in workers:
            stop(worker)

    with sessions() as session:
        finished = session.scalars(select(models.Run).order_by(models.Run.id)).all()
        assert [r.status for r in finished] == ["completed"] * RUNS, [
            (r.id, r.status, r.error) for r in finished
        ]
        (killed,) = [r for r in finished if r.id == victim]
        assert killed.attempts == 2 and killed.worker != "w0@e2e"  # it ran again, elsewhere
        for run in finished:
            stored = session.scalar(
                select(func.count()).select_from(models.Finding)
                .where(models.Finding.run_id == run.id)
            )  # fmt: skip
            assert stored == run.summary["findings"] > 0
            steps = session.scalar(
                select(func.count()).select_from(models.Step).where(models.Step.run_id == run.id)
            )
            assert steps == len(Registry.discover().names())  # one per analyzer
            formats = session.scalars(
                select(models.Report.format).where(models.Report.run_id == run.id)
            )
            assert sorted(formats) == ["html", "json", "md", "pdf", "sarif"]  # each once
    assert sorted(r.id for r in finished) == ids
