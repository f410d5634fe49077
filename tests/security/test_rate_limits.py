"""Rate limits, as a caller meets them: the budgets of the seeds, the headers
that tell where a caller stands, a 429 that says when to come back, and one
budget shared by every API process on one Redis."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.security import identity
from repolens.security.policy import Scope
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects
from tests.workers import stop

API = "/api/v1"


# Tiers roomy enough that only the budgets these tests are about are met (test_tiers.py).
ROOMY = '{"free": {"runs_per_day": 100, "runs_per_hour": 100, "concurrent_runs": 20}}'


def deployment(tmp_path: Path, **options: object) -> Settings:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data",
                        tiers=json.loads(ROOMY), **options)  # type: ignore[arg-type]  # fmt: skip
    migrate.upgrade(settings)
    return settings


def maintainer(settings: Settings, name: str = "dev") -> tuple[str, int]:
    """A maintainer's token, and the id of the project they maintain."""
    with db.sessions(db.engine(settings)).begin() as session:
        found = session.query(models.Project).filter_by(name="p").one_or_none()
        project = found or projects.create(session, name="p",
                                           repository_url="https://example.com/o/p")  # fmt: skip
        user = identity.create(session, name)
        identity.add_member(session, user.id, project.id, models.Role.MAINTAINER)
        return identity.issue_token(session, user, "t", list(Scope))[1], project.id


def test_the_sixth_refresh_in_five_minutes_is_refused_with_when_to_come_back(
    tmp_path: Path,
) -> None:
    settings = deployment(tmp_path)
    token, project = maintainer(settings)
    with TestClient(create_app(settings)) as client:
        answers = [client.post(f"{API}/projects/{project}/refresh", json={},
                               headers={"Authorization": f"Bearer {token}"})
                   for _ in range(6)]  # fmt: skip

    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.headers["RateLimit-Limit"] == refused.headers["X-RateLimit-Limit"] == "5"
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert 0 < int(refused.headers["RateLimit-Reset"]) <= 300
    assert int(refused.headers["X-RateLimit-Reset"]) > time.time()
    assert refused.headers["content-type"] == "application/problem+json"
    assert "5 per 5 minute" in refused.json()["detail"]


def test_each_token_and_each_address_without_one_has_its_own_request_budget(
    tmp_path: Path,
) -> None:
    settings = deployment(tmp_path, rate_limit_api="3/minute")
    first, _ = maintainer(settings, "one")
    second, _ = maintainer(settings, "two")
    with TestClient(create_app(settings)) as client:
        spent = [client.get(f"{API}/me", headers={"Authorization": f"Bearer {first}"})
                 for _ in range(4)]  # fmt: skip
        other = client.get(f"{API}/me", headers={"Authorization": f"Bearer {second}"})
        guesses = [client.get(f"{API}/me", headers={"Authorization": "Bearer rlpat_" + "x" * 40})
                   .status_code for _ in range(4)]  # fmt: skip
        probe = client.get(f"{API}/health")

    assert [a.status_code for a in spent] == [200, 200, 200, 429]
    assert other.status_code == 200 and other.headers["RateLimit-Remaining"] == "2"
    assert guesses == [401, 401, 401, 429]
    assert probe.status_code == 200  # a health probe is not rate limited


def test_the_local_operator_of_a_deployment_without_accounts_is_not_limited(
    tmp_path: Path,
) -> None:
    settings = deployment(tmp_path, rate_limit_api="2/minute")
    with TestClient(create_app(settings)) as client:
        answers = [client.get(f"{API}/projects").status_code for _ in range(5)]

    assert answers == [200] * 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def two_apis(tmp_path: Path) -> Iterator[tuple[list[str], str, int]]:
    """Two `repolens serve` processes on one database and one Redis for limits."""
    settings = deployment(tmp_path)
    token, project = maintainer(settings)
    with _limits_redis() as shared:
        env = {
            **os.environ,
            "REPOLENS_DATABASE_URL": settings.database,
            "REPOLENS_DATA_DIR": str(settings.data_dir),
            "REPOLENS_RATE_LIMITS_URL": shared,
            "REPOLENS_TIERS": ROOMY,
        }
        ports, servers = [free_port(), free_port()], []
        try:
            for port in ports:
                servers.append(subprocess.Popen(
                    [sys.executable, "-m", "repolens", "serve", "--port", str(port)], env=env,
                    stdout=(tmp_path / f"api{port}.log").open("wb"), stderr=subprocess.STDOUT,
                    start_new_session=True))  # fmt: skip
            for port in ports:
                _wait_healthy(f"http://127.0.0.1:{port}")
            yield [f"http://127.0.0.1:{port}" for port in ports], token, project
        finally:
            for server in servers:
                stop(server)


@contextlib.contextmanager
def _limits_redis() -> Iterator[str]:
    """A Redis database for the counts, with no counts in it: the quietest one
    (others may hold clients of other tests; only the limits' keys matter)."""
    busy = Counter(int(client["db"]) for client in redis.Redis().client_list())
    number = min(range(1, 16), key=lambda db: busy[db])
    client = redis.Redis(db=number)

    def clear() -> None:
        stale = client.keys("LIMITS*")
        if stale:
            client.delete(*stale)

    clear()
    try:
        yield f"redis://127.0.0.1:6379/{number}"
    finally:
        clear()


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}{API}/health", timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{base} did not start"
        time.sleep(0.2)


def test_two_api_processes_on_one_redis_share_one_budget(
    two_apis: tuple[list[str], str, int],
) -> None:
    bases, token, project = two_apis
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [httpx.post(f"{bases[n % 2]}{API}/projects/{project}/refresh", json={},
                           headers=headers, timeout=10).status_code for n in range(6)]  # fmt: skip

    assert statuses == [202] * 5 + [429]
