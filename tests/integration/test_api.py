"""The REST API with the embedded job runtime, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from fastapi.testclient import TestClient
from pydantic import SecretStr

from repolens.app import create_app
from repolens.settings import Settings
from repolens.storage import migrate
from tests.conftest import Repo
from tests.integration.databases import database_url, redis_url
from tests.recorder import Recorder
from tests.workers import start_worker, stop

API = "/api/v1"
SECRET = "whsec_" + base64.b64encode(b"notify-secret-key-of-32-bytes!!!").decode()


@pytest.fixture(params=["sqlite", "postgresql", "distributed"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """The embedded deployment on either database, and the distributed one:
    PostgreSQL, a Redis broker and a real worker process (see `client`)."""
    distributed = request.param == "distributed"
    with ExitStack() as stack:
        url = stack.enter_context(database_url("postgresql" if distributed else request.param,
                                               tmp_path))  # fmt: skip
        broker = stack.enter_context(redis_url()) if distributed else None
        settings = Settings(database_url=url, broker_url=broker, cache_dir=tmp_path / "cache",
                            data_dir=tmp_path / "data", job_workers=1, notify_secret=SECRET,
                            notify_retry_seconds=0.05)  # fmt: skip
        migrate.upgrade(settings)
        yield settings


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    worker = start_worker(settings, "api", tmp_path / "worker.log") if settings.broker_url else None
    try:
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        if worker is not None:
            stop(worker)


def backend(settings: Settings) -> str:
    return "celery" if settings.broker_url else "local"


def wait_until_done(client: TestClient, run_id: int, seconds: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        run: dict[str, Any] = client.get(f"{API}/jobs/{run_id}").json()
        if run["status"] in ("completed", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def test_projects_can_be_created_read_changed_and_deleted(
    client: TestClient, tmp_path: Path
) -> None:
    body = {"name": "web", "repository_url": str(tmp_path / "web")}
    created = client.post(f"{API}/projects", json=body)
    assert created.status_code == 201
    project = created.json()
    assert (project["name"], project["default_branch"]) == ("web", None)  # HEAD's branch

    assert [p["name"] for p in client.get(f"{API}/projects").json()] == ["web"]
    changed = client.patch(f"{API}/projects/{project['id']}", json={"default_branch": "trunk"})
    assert changed.json()["default_branch"] == "trunk"
    assert client.delete(f"{API}/projects/{project['id']}").status_code == 204
    gone = client.get(f"{API}/projects/{project['id']}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["detail"] == f"project {project['id']} not found"


def test_an_invalid_body_is_a_422_naming_the_fields(client: TestClient) -> None:
    response = client.post(f"{API}/projects", json={"name": "", "repository_url": 5})
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"body.name", "body.repository_url"} <= fields


@pytest.mark.parametrize("path", ["/projects/999", "/runs/999", "/jobs/999", "/runs/999/steps",
                                  "/runs/999/findings", "/projects/999/plan"])  # fmt: skip
def test_unknown_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(API + path)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_a_refresh_runs_in_the_background_and_its_results_are_served(
    client: TestClient, settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    code = "import os\nimport subprocess\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"
    plan = "## Phase 1\n- [x] parse plans\n- [ ] serve them\n"
    repo.commit({"app.py": code, "requirements.txt": "flask\n", "docs/plan.md": plan})
    body = {"name": "app", "repository_url": str(repo.path)}
    project = client.post(f"{API}/projects", json=body).json()

    accepted = client.post(f"{API}/projects/{project['id']}/refresh", json={"reason": "test"})
    assert accepted.status_code == 202
    assert (accepted.json()["priority"], accepted.json()["trigger"]) == ("high", "manual")
    run = wait_until_done(client, accepted.json()["id"])
    assert run["status"] == "completed", run
    run_id = run["id"]

    findings = client.get(f"{API}/runs/{run_id}/findings", params={"analyzer": "bandit"}).json()
    rules = {f["rule_id"] for f in findings["items"]}
    assert "B602" in rules and all(f["state"] == "new" for f in findings["items"])
    high = client.get(f"{API}/runs/{run_id}/findings", params={"severity": "high"}).json()
    assert high["items"] and all(f["severity"] == "high" for f in high["items"])
    first = findings["items"][0]
    triaged = client.patch(f"{API}/findings/{first['id']}", json={"triage": "ignored"})
    assert triaged.json()["triage"] == "ignored"
    assert client.patch(f"{API}/findings/{first['id']}", json={"triage": "meh"}).status_code == 422

    steps = {s["name"]: s["status"] for s in client.get(f"{API}/runs/{run_id}/steps").json()}
    assert steps["bandit"] == "completed" and steps["plan"] == "completed"
    assert "bandit: completed" in client.get(f"{API}/runs/{run_id}/log").text
    sarif = client.get(f"{API}/runs/{run_id}/reports/sarif")
    assert sarif.status_code == 200 and sarif.json()["version"] == "2.1.0"
    pdf = client.get(f"{API}/runs/{run_id}/reports/pdf")  # rendered by a job of its own
    deadline = time.monotonic() + 60
    while pdf.status_code == 404 and time.monotonic() < deadline:
        assert "not rendered yet" in pdf.json()["detail"]
        time.sleep(0.1)
        pdf = client.get(f"{API}/runs/{run_id}/reports/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert client.get(f"{API}/runs/{run_id}/reports/docx").status_code == 404

    plan = client.get(f"{API}/projects/{project['id']}/plan").json()
    assert (plan["done"], plan["total"], plan["tasks"][0]["title"]) == (1, 2, "parse plans")
    skills = {s["name"] for s in client.get(f"{API}/projects/{project['id']}/skills").json()}
    assert {"Flask", "Python"} <= skills
    history = client.get(f"{API}/projects/{project['id']}/score-history").json()
    assert [point["run_id"] for point in history] == [run_id]
    listed = client.get(f"{API}/runs", params={"project_id": project["id"]}).json()
    assert [r["id"] for r in listed["items"]] == [run_id] and listed["next_cursor"] is None
    status = client.get(f"{API}/jobs/queue-status").json()
    assert status["runs_by_status"] == {"completed": 1} and status["backend"] == backend(settings)
    assert status["workers"] >= 1 and status["running"] == 0
    everything = ["high", "default", "low", "notify", "report"]
    assert sorted(status["depth"]) == sorted(status["consumers"]) == sorted(everything)
    assert all(count >= 1 for count in status["consumers"].values())
    rates = status["rates"]
    assert rates["queued"] == rates["started"] == rates["completed"] == round(1 / 15, 3)
    assert rates["failed"] == 0 and 0 <= rates["wait_seconds_p50"] < 60
    healthy = client.get(f"{API}/health/queue")
    assert healthy.status_code == 200 and healthy.json()["workers"] == status["workers"]


def test_runs_are_paged_with_a_cursor(client: TestClient, tmp_path: Path) -> None:
    project = client.post(f"{API}/projects",
                          json={"name": "p", "repository_url": str(tmp_path)}).json()  # fmt: skip
    ids = []
    for _ in range(5):  # one after the other: a refresh while one waits is that one
        ids.append(client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()["id"])
        wait_until_done(client, ids[-1])

    first = client.get(f"{API}/runs", params={"limit": 2}).json()
    second = client.get(f"{API}/runs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get(f"{API}/runs", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    seen = [r["id"] for page in (first, second, third) for r in page["items"]]
    assert seen == sorted(ids, reverse=True) and third["next_cursor"] is None


def test_a_run_that_cannot_clone_fails_and_can_be_retried(
    client: TestClient, tmp_path: Path
) -> None:
    url = (tmp_path / "missing.git").as_uri()
    project = client.post(f"{API}/projects", json={"name": "x", "repository_url": url}).json()
    run_id = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()["id"]
    failed = wait_until_done(client, run_id)
    assert failed["status"] == "failed" and "could not fetch" in failed["error"]
    assert failed["attempts"] == 1

    assert client.post(f"{API}/jobs/{run_id}/retry").status_code == 202
    again = wait_until_done(client, run_id)
    assert (again["status"], again["attempts"]) == ("failed", 2)
    assert client.delete(f"{API}/jobs/{run_id}").status_code == 409


def test_the_health_probe_answers_anyone_and_a_token_guards_the_rest(settings: Settings) -> None:
    guarded = settings.model_copy(update={"api_token": SecretStr("s3cret")})
    with TestClient(create_app(guarded)) as client:
        assert client.get(f"{API}/health").json() == {"status": "ok", "database": "ok"}
        assert client.get(f"{API}/projects").status_code == 401
        wrong = client.get(f"{API}/projects", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get(f"{API}/projects", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get(f"{API}/health/queue").status_code == 401


def test_queue_health_is_a_503_problem_while_the_broker_is_away_or_no_worker_consumes(
    tmp_path: Path,
) -> None:
    def app(broker: str, name: str) -> TestClient:
        settings = Settings(broker_url=broker, data_dir=tmp_path / name)
        migrate.upgrade(settings)
        return TestClient(create_app(settings))

    with app("redis://127.0.0.1:1/0", "away") as client:
        for path in ("/health/queue", "/jobs/queue-status"):
            away = client.get(f"{API}{path}")
            assert away.status_code == 503
            assert away.headers["content-type"] == "application/problem+json"
            assert "the broker at redis://127.0.0.1:1/0 cannot be reached" in away.json()["detail"]
        project = client.post(f"{API}/projects",
                              json={"name": "p", "repository_url": str(tmp_path)})  # fmt: skip
        accepted = client.post(f"{API}/projects/{project.json()['id']}/refresh", json={})
        assert (accepted.status_code, accepted.json()["status"]) == (202, "queued")

    with redis_url() as broker, app(broker, "idle") as client:
        idle = client.get(f"{API}/health/queue")
        assert idle.status_code == 503
        assert idle.json()["detail"] == (
            "no worker consumes the high, default, low, notify, report queue(s)"
        )
        assert client.get(f"{API}/jobs/queue-status").json()["workers"] == 0


def test_an_unexpected_error_is_a_500_problem_not_a_bare_page(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        with sqlite3.connect(tmp_path / "repolens.db") as database:
            database.execute("DROP TABLE projects")  # a table gone from under the server
        failed = client.get(f"{API}/projects")
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["detail"] == "The server could not answer: OperationalError."


def test_the_command_line_adds_a_project_queues_a_refresh_and_lists_runs(
    repolens: Callable[..., Any], tmp_path: Path
) -> None:
    env = {"REPOLENS_DATA_DIR": str(tmp_path / "data")}
    added = repolens("project", "add", "site", str(tmp_path), "--branch", "trunk", **env)
    assert added.code == 0 and added.stdout.startswith("project 1 site")
    assert "trunk" in repolens("project", "list", **env).stdout
    queued = repolens("refresh", "site", **env)
    assert queued.stdout.strip() == "run 1 queued"
    listed = repolens("runs", "site", **env).stdout
    assert "manual" in listed and "queued" in listed
    missing = repolens("refresh", "nope", **env)
    assert (missing.code, missing.stderr) == (2, "error: project 'nope' not found\n")


def test_a_schedule_must_be_a_cron_expression(client: TestClient, tmp_path: Path) -> None:
    body = {"name": "n", "repository_url": str(tmp_path), "schedule": "nightly"}
    bad = client.post(f"{API}/projects", json=body)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.schedule"
    good = client.post(f"{API}/projects", json={**body, "schedule": "0 3 * * *"})
    assert good.status_code == 201


def notified_run(client: TestClient, repo: Repo, receiver: Recorder) -> int:
    url = f"{receiver.url}/hooks/repolens"
    body = {"name": "n", "repository_url": str(repo.path), "notify_url": url}
    project = client.post(f"{API}/projects", json=body).json()
    assert project["notify_url"] == url
    run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
    assert wait_until_done(client, run["id"])["status"] == "completed"
    return int(run["id"])


def test_a_finished_run_is_told_to_the_notify_url_signed_and_retried_when_it_fails(
    client: TestClient, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    receiver = Recorder([503, 204])
    try:
        run_id = notified_run(client, repo, receiver)
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2:
            assert time.monotonic() < deadline, receiver.received
            time.sleep(0.05)
    finally:
        receiver.shutdown()
    (first_headers, first), (headers, body) = ((r.headers, r.body) for r in receiver.received)
    assert first == body and first_headers["webhook-id"] == headers["webhook-id"]
    # Checked by the Standard Webhooks reference library, not by our own code.
    standardwebhooks.Webhook(SECRET).verify(body, {name.lower(): value
                                                   for name, value in headers.items()})  # fmt: skip
    assert headers["X-Repolens-Event"] == "run.completed"
    notice = json.loads(body)
    assert (notice["event"], notice["run"]["id"], notice["run"]["status"]) == (
        "run.completed", run_id, "completed")  # fmt: skip
    assert notice["project"]["name"] == "n" and notice["run"]["finished_at"]


def test_a_notify_url_that_refuses_is_not_asked_again_and_a_bad_one_is_a_422(
    client: TestClient, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "import os\n"})
    receiver = Recorder([410])
    try:
        notified_run(client, repo, receiver)
        deadline = time.monotonic() + 30
        while not receiver.received:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(2)  # longer than any retry would wait
        assert len(receiver.received) == 1
    finally:
        receiver.shutdown()
    bad = client.post(f"{API}/projects", json={"name": "x", "repository_url": str(tmp_path),
                                               "notify_url": "ftp://files/hook"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.notify_url"


def test_a_finding_marked_false_positive_leaves_the_score_now_and_in_later_runs(
    client: TestClient, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    repo.commit(
        {"app.py": "import subprocess\n\n\ndef run(c):\n    subprocess.call(c, shell=True)\n"}
    )
    project = client.post(f"{API}/projects",
                          json={"name": "fp", "repository_url": str(repo.path)}).json()  # fmt: skip

    def scanned() -> dict[str, Any]:
        run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
        return wait_until_done(client, run["id"])

    first = scanned()
    found = client.get(f"{API}/runs/{first['id']}/findings", params={"rule_id": "B602"}).json()
    (shell,) = [f for f in found["items"] if f["rule_id"] == "B602"]
    client.patch(f"{API}/findings/{shell['id']}", json={"triage": "false_positive"})
    rescored = client.get(f"{API}/runs/{first['id']}").json()["summary"]["score"]
    assert rescored > first["summary"]["score"]

    second = scanned()
    carried = client.get(f"{API}/runs/{second['id']}/findings").json()["items"]
    assert [f["triage"] for f in carried if f["rule_id"] == "B602"] == ["false_positive"]
    assert second["summary"]["score"] == rescored


def test_cancelling_a_queued_run_tells_the_notify_url_as_a_cancel_in_the_worker_does(
    tmp_path: Path,
) -> None:
    with redis_url() as broker:  # no worker: the run stays queued until it is cancelled
        settings = Settings(data_dir=tmp_path, broker_url=broker)
        migrate.upgrade(settings)
        with TestClient(create_app(settings)) as client:
            body = {"name": "n", "repository_url": str(tmp_path),
                    "notify_url": "http://127.0.0.1:9/hook"}  # fmt: skip
            project = client.post(f"{API}/projects", json=body).json()
            run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
            assert client.delete(f"{API}/jobs/{run['id']}").json()["status"] == "cancelled"
        with sqlite3.connect(tmp_path / "repolens.db") as database:
            notices = database.execute("SELECT payload FROM outbox WHERE topic = 'repolens.notify'")
            assert [json.loads(payload)["run_id"] for (payload,) in notices] == [run["id"]]


def test_a_notice_waiting_to_be_retried_holds_no_job_slot_in_the_embedded_runtime(
    tmp_path: Path, make_repo: Callable[..., Repo]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", job_workers=1,
                        notify_retry_seconds=30)  # fmt: skip
    migrate.upgrade(settings)
    repo = make_repo()
    repo.commit({"app.py": "x = 1\n"})
    receiver = Recorder([503, 204])
    try:
        with TestClient(create_app(settings)) as client:
            first = notified_run(client, repo, receiver)
            deadline = time.monotonic() + 30
            while not receiver.received:  # the first try failed: the next is 15 to 30 s away
                assert time.monotonic() < deadline
                time.sleep(0.05)
            project_id = client.get(f"{API}/runs/{first}").json()["project_id"]
            second = client.post(f"{API}/projects/{project_id}/refresh", json={}).json()
            # The only job slot is free meanwhile: the next scan runs now, not after the wait.
            assert wait_until_done(client, second["id"], seconds=10)["status"] == "completed"
            while len(receiver.received) < 2:  # its own notice, before the first one's retry
                assert time.monotonic() < deadline
                time.sleep(0.05)
            told = [json.loads(request.body)["run"]["id"] for request in receiver.received]
            assert told == [first, second["id"]]
    finally:
        receiver.shutdown()


def test_a_project_added_without_a_branch_scans_the_branch_its_head_names(
    client: TestClient, make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    upstream = make_repo("upstream")
    upstream.git("checkout", "-q", "-b", "master")  # not "main"
    upstream.commit({"app.py": "x = 1\n"})
    bare = tmp_path / "forge.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream.path), str(bare)], check=True)
    body = {"name": "legacy", "repository_url": bare.as_uri()}
    project = client.post(f"{API}/projects", json=body).json()
    assert project["default_branch"] is None

    run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
    done = wait_until_done(client, run["id"])
    assert done["status"] == "completed", done["error"]
    assert done["ref"] == "master"  # the run says which branch it was
