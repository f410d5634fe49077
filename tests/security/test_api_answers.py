"""No request gets a 5xx: conflicts, unknown ids, nulls and floods get a 4xx or
the run they meant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repolens import scan
from repolens.jobs import lifecycle, pipeline
from repolens.reports.model import Report
from repolens.settings import Settings
from repolens.storage import db, migrate, projects
from tests.integration.databases import redis_url
from tests.security.conftest import API

HUGE = 2**63


def test_a_duplicate_project_name_is_a_409(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    for name in ("a", "b"):
        client.post(f"{API}/projects", json={"name": name, "repository_url": str(tmp_path)})
    again = client.post(f"{API}/projects", json={"name": "a", "repository_url": str(tmp_path)})
    assert (
        again.status_code == 409 and again.json()["detail"] == "a project named 'a' already exists"
    )
    renamed = client.patch(f"{API}/projects/2", json={"name": "a"})
    assert renamed.status_code == 409


@pytest.mark.parametrize("field", ["name", "repository_url", "analyzer_options"])
def test_null_for_a_field_that_cannot_be_empty_is_a_422(
    make_client: Callable[..., TestClient], tmp_path: Path, field: str
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    client.post(f"{API}/projects", json={"name": "a", "repository_url": str(tmp_path)})
    assert client.patch(f"{API}/projects/1", json={field: None}).status_code == 422
    clear = {"schedule": None, "plan_path": None, "default_branch": None}
    cleared = client.patch(f"{API}/projects/1", json=clear)
    assert cleared.status_code == 200


@pytest.mark.parametrize("path", [f"/projects/{HUGE}", f"/runs/{HUGE}", f"/jobs/{HUGE}",
                                  f"/runs/{HUGE * 4}/findings", f"/projects/{HUGE}/plan",
                                  "/projects/-1", "/runs/0/steps"])  # fmt: skip
def test_ids_out_of_range_are_unknown_not_errors(
    make_client: Callable[..., TestClient], path: str
) -> None:
    assert make_client().get(API + path).status_code == 404


def test_a_member_out_of_range_is_unknown_not_an_error(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    client.post(f"{API}/projects", json={"name": "a", "repository_url": str(tmp_path)})

    gone = client.delete(f"{API}/projects/1/members/{HUGE * 4}")  # found by the API fuzzer

    assert gone.status_code == 404


def test_datetimes_carry_their_utc_offset_and_sqlite_never_reuses_an_id(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    first = client.post(f"{API}/projects", json={"name": "a", "repository_url": str(tmp_path)})
    moment = datetime.fromisoformat(client.get(f"{API}/projects/1").json()["created_at"])
    assert moment.utcoffset() is not None
    client.delete(f"{API}/projects/{first.json()['id']}")
    second = client.post(f"{API}/projects", json={"name": "b", "repository_url": str(tmp_path)})
    assert second.json()["id"] > first.json()["id"]


def test_refreshes_while_one_is_queued_return_that_run(tmp_path: Path) -> None:
    with redis_url() as broker:  # no worker consumes it: runs stay queued
        settings = Settings(data_dir=tmp_path, broker_url=broker, local_repository_roots=[tmp_path])
        migrate.upgrade(settings)
        from repolens.app import create_app

        with TestClient(create_app(settings)) as client:
            body = {"name": "p", "repository_url": str(tmp_path)}
            project = client.post(f"{API}/projects", json=body).json()
            answers = [client.post(f"{API}/projects/{project['id']}/refresh", json={})
                       for _ in range(20)]  # fmt: skip
            other = client.post(f"{API}/projects/{project['id']}/refresh", json={"ref": "dev"})
            assert {a.status_code for a in answers} == {202}
            assert len({a.json()["id"] for a in answers}) == 1
            assert other.json()["id"] != answers[0].json()["id"]
            assert len(client.get(f"{API}/runs").json()["items"]) == 2


def test_a_project_deleted_while_its_run_runs_ends_that_run_quietly(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, local_repository_roots=[tmp_path])
    migrate.upgrade(settings)
    sessions = db.sessions(db.engine(settings))
    with sessions.begin() as session:
        project = projects.create(session, name="p", repository_url=str(tmp_path))
        run_id = lifecycle.queue(session, project.id, "manual").id
    scanning, deleted = threading.Event(), threading.Event()

    def scanner(request: scan.ScanRequest, settings: Settings, **kwargs: object) -> Report:
        scanning.set()
        deleted.wait(10)
        should_abort = kwargs["should_abort"]
        assert callable(should_abort)
        assert should_abort()  # the observer finds its run gone and asks to stop
        from repolens.errors import ScanAborted

        raise ScanAborted()

    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(
        pipeline.execute(run_id, settings, sessions, scanner=scanner)))  # fmt: skip
    worker.start()
    assert scanning.wait(10)
    with sessions.begin() as session:
        projects.delete(session, project.id)
    deleted.set()
    worker.join(10)
    assert outcome == ["deleted"]
