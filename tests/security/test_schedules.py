"""A schedule fires, not too often, and one bad row stops no other project."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repolens.jobs import schedule
from repolens.settings import Settings
from repolens.storage import db, migrate, projects
from tests.security.conftest import API


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "*/30 * * * * *",
                                        "0 0 * * * * 2026", "* * * * *", "*/5 * * * *",
                                        "0,1 3 * * *", "@reboot", "@every 1s", ""])  # fmt: skip
def test_a_schedule_that_never_fires_or_fires_too_often_is_refused(
    make_client: Callable[..., TestClient], tmp_path: Path, expression: str
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    body = {"name": "p", "repository_url": str(tmp_path), "schedule": expression}
    refused = client.post(f"{API}/projects", json=body)
    assert refused.status_code == 422, expression


def test_one_project_whose_schedule_cannot_fire_does_not_stop_the_others(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    sessions = db.sessions(db.engine(settings))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions.begin() as session:  # stored as an older version would have let them be
        for name, expression in [("never", "0 0 31 2 *"), ("storm", "*/30 * * * * *"),
                                 ("nightly", "0 3 * * *")]:  # fmt: skip
            project = projects.create(session, name=name, repository_url="/r", schedule=expression)
            project.created_at = created
    fired = schedule.trigger_due(sessions, datetime(2026, 1, 1, 3, 30, tzinfo=UTC))
    assert len(fired) == 1
