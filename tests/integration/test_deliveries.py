"""What a forge's delivery does to runs: a pull request's runs scan its head
against its base, a newer head supersedes a queued one, closing cancels them,
and every delivery is recorded with its outcome."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.forges import github, gitlab
from repolens.forges.events import Event
from repolens.jobs import deliveries
from repolens.settings import Settings
from repolens.storage import models, projects, runs

SETTINGS = Settings()


def pull_request(action: str, head: str, number: int = 5, draft: bool = False) -> Event:
    return github.read("pull_request", {
        "action": action, "number": number,
        "pull_request": {"number": number, "draft": draft,
                         "head": {"ref": "feature", "sha": head},
                         "base": {"ref": "main", "sha": "b" * 40}},
        "repository": {"full_name": "octo/hello", "clone_url": "https://github.com/octo/hello.git"},
        "installation": {"id": 77},
    })  # fmt: skip


def watched(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        made = projects.create(session, name="p", repository_url="https://github.com/octo/hello",
                               repository_key="github.com/octo/hello")  # fmt: skip
        return made.id


def deliver(sessions: sessionmaker[Session], event: Event, **more: Any) -> deliveries.Outcome:
    with sessions.begin() as session:
        return deliveries.receive(session, event, more.pop("delivery_id", None), SETTINGS, **more)


def test_a_pull_request_s_run_scans_its_head_against_its_base_and_says_where_feedback_goes(
    sessions: sessionmaker[Session],
) -> None:
    project_id = watched(sessions)

    outcome = deliver(sessions, pull_request("opened", "1" * 40), delivery_id="x-1")

    with sessions() as session:
        run = runs.get(session, outcome.runs[0])
        assert (run.project_id, run.trigger, run.ref, run.commit_sha) == (
            project_id, "pull_request", "feature", "1" * 40)  # fmt: skip
        assert (run.pull_request, run.base_commit) == (5, "b" * 40)
        assert run.origin == {"forge": "github", "repository": "octo/hello", "branch": "feature",
                              "base_branch": "main", "installation": 77}  # fmt: skip
        (record,) = session.scalars(select(models.Delivery)).all()
        assert (record.delivery_id, record.status, record.run_id, record.project_id) == (
            "x-1", "queued", run.id, project_id)  # fmt: skip


def test_new_commits_on_a_pull_request_supersede_its_queued_run_and_closing_cancels_the_rest(
    sessions: sessionmaker[Session],
) -> None:
    watched(sessions)
    first = deliver(sessions, pull_request("opened", "1" * 40)).runs[0]
    other = deliver(sessions, pull_request("opened", "9" * 40, number=6)).runs[0]
    second = deliver(sessions, pull_request("synchronize", "2" * 40)).runs[0]

    closed = deliver(sessions, pull_request("closed", "2" * 40))

    status = {run_id: runs.get_status(sessions, run_id) for run_id in (first, second, other)}
    assert status == {first: "superseded", second: "cancelled", other: "queued"}
    assert (closed.status, closed.runs) == ("cancelled", [second])


def test_a_draft_is_skipped_unless_drafts_are_scanned(sessions: sessionmaker[Session]) -> None:
    watched(sessions)
    draft = pull_request("opened", "1" * 40, draft=True)

    skipped = deliver(sessions, draft)
    with sessions.begin() as session:
        scanned = deliveries.receive(session, draft, None,
                                     Settings(webhook_drafts=True))  # fmt: skip

    assert skipped.status == "skipped" and "draft" in (skipped.reason or "")
    assert scanned.status == "queued"


def test_a_merge_request_update_without_new_commits_asks_for_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        projects.create(session, name="g", repository_url="https://gitlab.example.com/g/app",
                        repository_key="gitlab.example.com/g/app")  # fmt: skip
    body = {
        "object_kind": "merge_request",
        "project": {
            "path_with_namespace": "g/app",
            "git_http_url": "https://gitlab.example.com/g/app.git",
        },
        "object_attributes": {
            "iid": 3,
            "action": "update",
            "source_branch": "f",
            "target_branch": "main",
            "last_commit": {"id": "4" * 40},
        },
    }

    retitled = deliver(sessions, gitlab.read("Merge Request Hook", body))
    body["object_attributes"]["oldrev"] = "3" * 40  # type: ignore[index]
    pushed = deliver(sessions, gitlab.read("Merge Request Hook", body))

    assert retitled.status == "ignored"
    assert pushed.status == "queued"
    with sessions() as session:
        assert runs.get(session, pushed.runs[0]).pull_request == 3


def installed(action: str = "created") -> Event:
    return github.read("installation", {
        "action": action, "installation": {"id": 5},
        "repositories": [{"full_name": "octo/hello"}, {"full_name": "octo/world"}],
    })  # fmt: skip


def test_an_app_installation_creates_projects_only_when_the_setting_allows_it(
    sessions: sessionmaker[Session],
) -> None:
    watched(sessions)  # octo/hello is watched already
    allowed = Settings(github_app_creates_projects=True)

    off = deliver(sessions, installed())
    with sessions.begin() as session:
        on = deliveries.receive(session, installed(), None, allowed)
    with sessions.begin() as session:
        removed = deliveries.receive(session, installed("deleted"), None, allowed)

    assert off.status == "ignored" and "REPOLENS_GITHUB_APP_CREATES_PROJECTS" in (off.reason or "")
    assert (on.status, on.reason) == ("created", "projects created: octo/world")
    assert removed.status == "ignored"
    with sessions() as session:
        keys = sorted(p.repository_key or "" for p in projects.all(session))
    assert keys == ["github.com/octo/hello", "github.com/octo/world"]


def test_deliveries_taken_in_together_end_as_they_would_one_after_another(
    sessions: sessionmaker[Session],
) -> None:
    watched(sessions)
    pushes = [github.read("push", {"ref": "refs/heads/main", "after": f"{n:040x}",
                                   "repository": {"full_name": "octo/hello", "clone_url":
                                                  "https://github.com/octo/hello.git"}})
              for n in range(1, 4)]  # fmt: skip
    arrivals = [deliveries.Arrival(event, f"push-{n}") for n, event in enumerate(pushes)]
    arrivals += [deliveries.Arrival(pull_request("opened", "1" * 40), "pr-open"),
                 deliveries.Arrival(pull_request("closed", "1" * 40), "pr-closed"),
                 deliveries.Arrival(pushes[0], "push-0")]  # fmt: skip

    with sessions.begin() as session:
        outcomes = deliveries.receive_all(session, arrivals, SETTINGS)

    assert [o.status for o in outcomes] == ["queued"] * 4 + ["cancelled", "duplicate"]
    opened = outcomes[3].runs[0]
    assert outcomes[4].runs == [opened] and outcomes[5].runs == outcomes[0].runs
    with sessions() as session:
        status = {run_id: runs.get(session, run_id).status
                  for outcome in outcomes[:4] for run_id in outcome.runs}  # fmt: skip
        last = outcomes[2].runs[0]
        assert status == {outcomes[0].runs[0]: "superseded", outcomes[1].runs[0]: "superseded",
                          last: "queued", opened: "cancelled"}  # fmt: skip
        assert runs.get(session, outcomes[0].runs[0]).error == f"superseded by run {last}"
        recorded = session.scalars(select(models.Delivery.delivery_id)).all()
        assert sorted(recorded) == ["pr-closed", "pr-open", "push-0", "push-1", "push-2"]
