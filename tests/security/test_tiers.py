"""Tiers, as a user meets them: the runs they may have going at once (checked
as a run is queued), the runs they may start an hour, and an admin moving them
to another tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from repolens.app import create_app
from repolens.security import identity
from repolens.security.policy import Scope
from repolens.settings import Settings, Tier
from repolens.storage import db, migrate, models, projects

API = "/api/v1"
TIERS = {"free": Tier(runs_per_day=10, runs_per_hour=3, concurrent_runs=1),
         "pro": Tier(runs_per_day=100, runs_per_hour=50, concurrent_runs=5)}  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    made = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                    cache_dir=tmp_path / "cache", data_dir=tmp_path / "data",
                    tiers=TIERS)  # fmt: skip
    migrate.upgrade(made)
    return made


@pytest.fixture
def world(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str], list[int]]]:
    """A free-tier maintainer of five projects, their token's headers, and the projects."""
    with db.sessions(db.engine(settings)).begin() as session:
        dev = identity.create(session, "dev")
        admin = identity.create(session, "root", admin=True)
        ids = []
        for n in range(5):
            project = projects.create(session, name=f"p{n}",
                                      repository_url=f"https://example.com/o/p{n}")  # fmt: skip
            identity.add_member(session, dev.id, project.id, models.Role.MAINTAINER)
            ids.append(project.id)
        headers = {"dev": identity.issue_token(session, dev, "t", list(Scope))[1],
                   "admin": identity.issue_token(session, admin, "t", list(Scope))[1]}  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client, {who: f"Bearer {token}" for who, token in headers.items()}, ids


def going(settings: Settings, project_id: int, user: str = "dev") -> None:
    """A run USER asked for on PROJECT_ID, running now (its heartbeat fresh)."""
    with db.sessions(db.engine(settings)).begin() as session:
        session.add(models.Run(project_id=project_id, trigger="manual", status="running",
                               heartbeat_at=models.now(),
                               requested_by=identity.by_name(session, user).id))  # fmt: skip


def runs_of(settings: Settings, project_id: int) -> int:
    with db.sessions(db.engine(settings))() as session:
        return session.scalar(select(func.count()).select_from(models.Run)
                              .where(models.Run.project_id == project_id)) or 0  # fmt: skip


def test_a_run_beyond_the_tiers_runs_at_once_is_refused_and_not_queued(
    world: tuple[TestClient, dict[str, str], list[int]], settings: Settings
) -> None:
    client, auth, ids = world
    going(settings, ids[0])

    refused = client.post(f"{API}/projects/{ids[1]}/refresh", json={},
                          headers={"Authorization": auth["dev"]})  # fmt: skip

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "1 runs at once" in refused.json()["detail"]
    assert runs_of(settings, ids[1]) == 0  # refused as it was queued: nothing left behind


def test_the_runs_a_tier_allows_an_hour_are_counted_and_told(
    world: tuple[TestClient, dict[str, str], list[int]], settings: Settings
) -> None:
    client, auth, ids = world
    with db.sessions(db.engine(settings)).begin() as session:
        identity.by_name(session, "dev").tier = "free"
    answers = []
    for project in ids[:4]:
        answers.append(client.post(f"{API}/projects/{project}/refresh", json={},
                                   headers={"Authorization": auth["dev"]}))  # fmt: skip
        with db.sessions(db.engine(settings)).begin() as session:  # it ended: not going
            session.execute(models.Run.__table__.update().values(status="failed"))

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[2].headers["RateLimit-Remaining"] == "0"
    assert answers[3].headers["RateLimit-Limit"] == "3" and "Retry-After" in answers[3].headers
    assert runs_of(settings, ids[3]) == 0


def test_an_admin_moves_a_user_to_a_roomier_tier_and_their_run_is_let_through(
    world: tuple[TestClient, dict[str, str], list[int]], settings: Settings
) -> None:
    client, auth, ids = world
    going(settings, ids[0])
    user_id = client.get(f"{API}/me", headers={"Authorization": auth["dev"]}).json()["user_id"]

    unknown = client.patch(f"{API}/users/{user_id}", json={"tier": "platinum"},
                           headers={"Authorization": auth["admin"]})  # fmt: skip
    moved = client.patch(f"{API}/users/{user_id}", json={"tier": "pro"},
                         headers={"Authorization": auth["admin"]})  # fmt: skip
    let_through = client.post(f"{API}/projects/{ids[1]}/refresh", json={},
                              headers={"Authorization": auth["dev"]})  # fmt: skip

    assert unknown.status_code == 422 and moved.json()["tier"] == "pro"
    assert let_through.status_code == 202
    with db.sessions(db.engine(settings))() as session:
        run = session.get(models.Run, let_through.json()["id"])
        assert run is not None and run.requested_by == user_id


def test_retrying_a_run_counts_against_the_tier_as_a_new_one_does(
    world: tuple[TestClient, dict[str, str], list[int]], settings: Settings
) -> None:
    client, auth, ids = world
    going(settings, ids[0])
    with db.sessions(db.engine(settings)).begin() as session:
        failed = models.Run(project_id=ids[1], trigger="manual", status="failed")
        session.add(failed)
        session.flush()
        failed_id = failed.id

    refused = client.post(f"{API}/jobs/{failed_id}/retry", headers={"Authorization": auth["dev"]})

    assert refused.status_code == 429
    with db.sessions(db.engine(settings))() as session:
        assert session.get_one(models.Run, failed_id).status == "failed"  # not queued again
