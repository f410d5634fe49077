"""Feedback on a pull request, against a fake forge on loopback that records
every call: a GitHub App's token exchange, a check run in progress then
completed with annotations in batches of 50, one comment edited in place on
each push, GitLab's and Gitea's statuses and notes, and a rate limit honoured."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.forges.client import RateLimited
from repolens.jobs import feedback, lifecycle, pipeline, tasks
from repolens.settings import Settings
from repolens.storage import models, projects, runs
from repolens.storage.models import now
from tests.conftest import Repo
from tests.forge import FakeForge
from tests.git_server import GitServer

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()  # fmt: skip
_count = itertools.count(1)


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    served = FakeForge()
    yield served
    served.shutdown()


def app_settings(forge: FakeForge, **more: Any) -> Settings:
    return Settings(github_api_url=forge.url, github_app_id="4242",
                    github_app_private_key=PEM, **more)  # fmt: skip


def pr_run(sessions: sessionmaker[Session], forge_name: str = "github", number: int = 7,
           repository: str = "octo/hello", gate: str = "high") -> int:  # fmt: skip
    """A pull request's run, started, as a delivery and a worker leave it."""
    with sessions.begin() as session:
        name = f"p{next(_count)}"
        project = projects.create(session, name=name, repository_url="https://h.example/o/r",
                                  repository_key=f"127.0.0.1/{repository}",  # the fake forge's
                                  gate=gate)  # fmt: skip
        source = runs.Source(commit="c" * 40, pull_request=number, base_commit="b" * 40,
                             origin={"forge": forge_name, "repository": repository,
                                     "installation": 99})  # fmt: skip
        run, _ = lifecycle.trigger(session, project.id, "pull_request", "feature", source=source)
        return run.id


def finish(sessions: sessionmaker[Session], run_id: int, found: list[tuple[str, str]]) -> None:
    """End RUN_ID completed with FOUND: (severity, state) pairs, one line each."""
    with sessions.begin() as session:
        run = runs.get(session, run_id)
        for line, (severity, state) in enumerate(found, start=1):
            session.add(models.Finding(
                run_id=run.id, project_id=run.project_id, fingerprint=f"f{line}-{severity}",
                analyzer="bandit", rule_id=f"B{line}", title=f"problem {line}",
                message=f"problem on line {line}", category="security", severity=severity,
                confidence="high", path="app.py", line=line, state=state))  # fmt: skip
        run.status, run.finished_at = "completed", now()


def test_a_github_app_exchanges_its_jwt_for_an_installation_token_and_opens_one_check_run(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = app_settings(forge)
    run_id = pr_run(sessions)

    said = [feedback.publish(run_id, settings, sessions) for _ in range(2)]

    (exchange,) = forge.made("POST", "/app/installations/99/access_tokens")
    claims = jwt.decode(exchange.authorization.removeprefix("Bearer "), KEY.public_key(),
                        algorithms=["RS256"])  # fmt: skip
    assert claims["iss"] == "4242" and claims["exp"] - claims["iat"] <= 600
    (opened,) = forge.made("POST", "/repos/octo/hello/check-runs")  # not twice
    assert opened.body["status"] == "in_progress" and opened.body["head_sha"] == "c" * 40
    assert opened.authorization.startswith("token ghs_installation")
    assert said == ["started", "started"]
    with sessions() as session:
        assert runs.get(session, run_id).origin["feedback"] == {"check_run": opened.answer["id"]}


def test_a_completed_check_run_carries_the_verdict_and_its_annotations_fifty_per_call(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = app_settings(forge, public_url="https://repolens.example")
    run_id = pr_run(sessions)
    feedback.publish(run_id, settings, sessions)
    finish(sessions, run_id, [("high", "new")] * 120 + [("low", "existing")] * 3)

    assert feedback.publish(run_id, settings, sessions) == "finished"

    (made,) = forge.made("POST", "/repos/octo/hello/check-runs")
    updates = forge.made("PATCH", f"/repos/octo/hello/check-runs/{made.answer['id']}")
    assert [len(call.body["output"]["annotations"]) for call in updates] == [50, 50, 20]
    first = updates[0].body
    assert (first["status"], first["conclusion"]) == ("completed", "failure")
    assert first["details_url"] == f"https://repolens.example/api/v1/runs/{run_id}/reports/html"
    summary = first["output"]["summary"]
    assert "New in this pull request: **120** · existing: 3" in summary
    assert "and 100 more" in summary
    assert {a["annotation_level"] for c in updates for a in c.body["output"]["annotations"]} == {
        "failure"}  # fmt: skip


def test_a_gate_passes_findings_below_its_severity(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    run_id = pr_run(sessions, gate="high")
    finish(sessions, run_id, [("medium", "new")])

    feedback.publish(run_id, app_settings(forge), sessions)

    (done,) = forge.made("PATCH", r"/repos/octo/hello/check-runs/\d+")
    assert done.body["conclusion"] == "success"


def test_with_a_token_one_comment_is_edited_in_place_and_a_fixed_finding_leaves_it(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal")
    first = pr_run(sessions)
    finish(sessions, first, [("high", "new"), ("medium", "new")])
    feedback.publish(first, settings, sessions)
    with sessions.begin() as session:  # the next push to the same pull request
        project_id = runs.get(session, first).project_id
        source = runs.Source(commit="d" * 40, pull_request=7, base_commit="b" * 40,
                             origin={"forge": "github", "repository": "octo/hello"})  # fmt: skip
        second = lifecycle.trigger(session, project_id, "pull_request", "feature",
                                   source=source)[0].id  # fmt: skip
    finish(sessions, second, [("high", "fixed"), ("medium", "new")])  # the push fixed line 1
    feedback.publish(second, settings, sessions)

    with sessions() as session:
        comment = runs.get(session, first).origin["feedback"]["comment"]
    (posted,) = forge.made("POST", "/repos/octo/hello/issues/7/comments")
    (edited,) = forge.made("PATCH", r"/repos/octo/hello/issues/comments/\d+")
    assert edited.path.endswith(f"/{comment}")
    assert "problem 1" in posted.body["body"] and "problem 1" not in edited.body["body"]
    assert "problem 2" in edited.body["body"] and "fixed: 1" in edited.body["body"]
    states = [c.body["state"] for c in forge.made("POST", r"/repos/octo/hello/statuses/\w+")]
    assert states == ["failure", "success"]
    assert all(c.authorization == "token ghp_personal" for c in forge.calls)


def test_gitlab_gets_a_status_and_one_merge_request_note_and_gitea_a_status_and_a_comment(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(gitlab_api_url=f"{forge.url}/api/v4", gitlab_token="glpat-x",
                        gitea_api_url=f"{forge.url}/api/v1", gitea_token="gitea-x")  # fmt: skip
    lab = pr_run(sessions, "gitlab", number=3, repository="group/app")
    tea = pr_run(sessions, "gitea", number=4, repository="team/svc")
    for run_id in (lab, tea):
        feedback.publish(run_id, settings, sessions)
        finish(sessions, run_id, [("critical", "new")])
        feedback.publish(run_id, settings, sessions)

    lab_states = [c.body["state"] for c in forge.made("POST", r"/api/v4/projects/group%2Fapp"
                                                               r"/statuses/c+")]  # fmt: skip
    assert lab_states == ["running", "failed"]
    (note,) = forge.made("POST", "/api/v4/projects/group%2Fapp/merge_requests/3/notes")
    assert note.authorization == "Bearer glpat-x" and "critical" in note.body["body"]
    tea_states = [
        c.body["state"] for c in forge.made("POST", r"/api/v1/repos/team/svc/statuses/c+")
    ]
    assert tea_states == ["pending", "failure"]
    assert forge.made("POST", "/api/v1/repos/team/svc/issues/4/comments")


def test_a_rate_limit_is_waited_out_as_long_as_the_forge_asks(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal")
    run_id = pr_run(sessions)
    forge.scripted.append((403, {"Retry-After": "7", "X-RateLimit-Remaining": "0"}))

    with pytest.raises(RateLimited) as limited:
        feedback.publish(run_id, settings, sessions)
    feedback.publish(run_id, settings, sessions)  # the retry, when its time has come

    assert limited.value.retry_after == 7
    assert tasks.FEEDBACK.retry(settings).pause(0, limited.value) == 7
    assert len(forge.made("POST", r"/repos/octo/hello/statuses/c+")) == 2


def test_a_run_a_forge_asked_for_orders_feedback_as_it_starts_and_as_it_ends(
    sessions: sessionmaker[Session],
) -> None:
    run_id = pr_run(sessions)
    with sessions.begin() as session:
        started = lifecycle.start(session, run_id, "w", picked_up=now())
        assert started is not None
        lifecycle.complete(session, started, [])

    with sessions() as session:
        topics = [m.topic for m in session.scalars(select(models.OutboxMessage))]
    assert topics.count(tasks.FEEDBACK.name) == 2


def test_a_private_repository_is_fetched_with_the_installation_s_token_never_written_down(
    sessions: sessionmaker[Session], forge: FakeForge, make_repo: Callable[..., Repo],
    tmp_path: Path,
) -> None:  # fmt: skip
    git = GitServer(tmp_path / "forge", password_prefix="ghs_")
    repo = make_repo()
    head = repo.commit({"app.py": "x = 1\n"})
    git.publish("octo/private", repo.path)
    settings = app_settings(forge, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    bare = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    try:
        runs_made = []
        for _ in range(2):
            with sessions.begin() as session:
                name = f"private{next(_count)}"
                project = projects.create(
                    session, name=name, repository_url=git.url("octo/private"),
                    repository_key="127.0.0.1/octo/private",
                )  # fmt: skip
                source = runs.Source(
                    commit=head,
                    origin={"forge": "github", "installation": 99, "repository": "octo/private"},
                )
                runs_made.append(lifecycle.trigger(session, project.id, "push", "main",
                                                   source=source)[0].id)  # fmt: skip
        with_app = pipeline.execute(runs_made[0], settings, sessions)
        without = pipeline.execute(runs_made[1], bare, sessions)
    finally:
        git.shutdown()

    assert (with_app, without) == ("completed", "failed")
    with sessions() as session:
        assert "could not fetch" in (runs.get(session, runs_made[1]).error or "")
    assert any(header.startswith("Basic ") for header in git.seen)
    written = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()
               and b"ghs_installation" in path.read_bytes()]  # fmt: skip
    assert written == []


def test_feedback_goes_only_to_the_forge_the_settings_name_and_to_the_project_s_repository(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal",
                        gitlab_token="glpat-x")  # no GitLab API named  # fmt: skip
    elsewhere = pr_run(sessions, repository="octo/hello")
    with sessions.begin() as session:
        run = runs.get(session, elsewhere)
        # what a delivery claimed: another repository, through a path of its own
        run.origin = {**run.origin, "repository": "victim/private/../../../orgs/victim"}
    lab = pr_run(sessions, "gitlab", repository="group/app")

    said = [feedback.publish(elsewhere, settings, sessions),
            feedback.publish(lab, settings, sessions)]  # fmt: skip

    assert said == ["started", "no forge"]  # GitLab's token goes nowhere no setting names
    assert [call.path for call in forge.calls] == [f"/repos/octo/hello/statuses/{'c' * 40}"]


def test_a_hostile_finding_reads_as_text_in_the_summary(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal")
    run_id = pr_run(sessions)
    with sessions.begin() as session:
        run = runs.get(session, run_id)
        session.add(models.Finding(
            run_id=run.id, project_id=run.project_id, fingerprint="h", analyzer="semgrep",
            rule_id="r", title="@admins [login](https://evil.example) ![i](https://evil.example/p)",
            message="m", category="security", severity="high", confidence="high",
            path="a|b<script>.py", line=1, state="new"))  # fmt: skip
        run.status, run.finished_at = "completed", now()

    feedback.publish(run_id, settings, sessions)

    (comment,) = forge.made("POST", "/repos/octo/hello/issues/7/comments")
    text = comment.body["body"]
    assert "](https" not in text and "<script>" not in text and "@admins" not in text
    assert "\\[login\\]" in text and "a\\|b" in text


def test_annotations_already_sent_are_not_sent_again_when_the_job_is_retried(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = app_settings(forge)
    run_id = pr_run(sessions)
    feedback.publish(run_id, settings, sessions)
    finish(sessions, run_id, [("high", "new")] * 120)
    forge.scripted.extend([(200, {}), (429, {"Retry-After": "\u00b2"})])  # limited at batch 2

    with pytest.raises(RateLimited):
        feedback.publish(run_id, settings, sessions)
    feedback.publish(run_id, settings, sessions)

    sent = [len(call.body["output"]["annotations"])
            for call in forge.made("PATCH", r"/repos/octo/hello/check-runs/\d+")
            if call.status < 400]  # fmt: skip
    assert sent == [50, 50, 20]


def test_two_projects_on_one_repository_keep_a_verdict_each(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal")
    first, second = pr_run(sessions), pr_run(sessions)  # the same repository, twice

    for run_id in (first, second):
        feedback.publish(run_id, settings, sessions)

    contexts = [c.body["context"] for c in forge.made("POST", r"/repos/octo/hello/statuses/c+")]
    assert len(set(contexts)) == 2 and all(c.startswith("repolens (") for c in contexts)


def test_a_check_run_whose_memory_was_lost_is_found_again_not_made_twice(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = app_settings(forge)
    run_id = pr_run(sessions)
    feedback.publish(run_id, settings, sessions)
    with sessions.begin() as session:  # as if the job died before it could remember
        run = runs.get(session, run_id)
        run.origin = {key: value for key, value in run.origin.items() if key != "feedback"}

    finish(sessions, run_id, [("low", "new")])
    feedback.publish(run_id, settings, sessions)

    (made,) = forge.made("POST", "/repos/octo/hello/check-runs")
    (done,) = forge.made("PATCH", r"/repos/octo/hello/check-runs/\d+")
    assert done.path.endswith(f"/{made.answer['id']}") and done.body["conclusion"] == "success"


def test_a_comment_whose_memory_was_lost_is_found_again_and_edited_not_posted_twice(
    sessions: sessionmaker[Session], forge: FakeForge
) -> None:
    settings = Settings(github_api_url=forge.url, github_token="ghp_personal")
    run_id = pr_run(sessions)
    finish(sessions, run_id, [("low", "new")])
    feedback.publish(run_id, settings, sessions)
    with sessions.begin() as session:
        run = runs.get(session, run_id)
        run.origin = {key: value for key, value in run.origin.items() if key != "feedback"}

    feedback.publish(run_id, settings, sessions)

    assert len(forge.made("POST", "/repos/octo/hello/issues/7/comments")) == 1
    (edited,) = forge.made("PATCH", r"/repos/octo/hello/issues/comments/\d+")
    assert edited.body["body"].startswith("<!-- repolens:comment ")
