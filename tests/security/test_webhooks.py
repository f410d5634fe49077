"""Forge webhooks as an outsider sends them: nothing is read before the proof
is checked, every answer is a clear 2xx or 4xx, and no body a forge could send
gets a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repolens.forges import signatures
from repolens.storage import runs
from tests.security.conftest import API

SECRET = "a-deployment-secret-of-some-length"
PAYLOADS = Path(__file__).resolve().parents[3] / "shared" / "data" / "github-payloads"


def github_headers(body: bytes, event: str, secret: str = SECRET,
                   delivery: str | None = None) -> dict[str, str]:  # fmt: skip
    signed = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signed}",
            "Content-Type": "application/json"}  # fmt: skip


def push(repository: str = "octo/hello", ref: str = "refs/heads/main",
         after: str = "a" * 40, deleted: bool = False) -> bytes:  # fmt: skip
    return json.dumps({"ref": ref, "before": "b" * 40, "after": after, "deleted": deleted,
                       "repository": {"full_name": repository,
                                      "clone_url": f"https://github.com/{repository}.git"}}
                      ).encode()  # fmt: skip


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(github_webhook_secret=SECRET, gitlab_webhook_token=SECRET,
                       gitea_webhook_secret=SECRET)  # fmt: skip


def project(client: TestClient, url: str = "git@github.com:Octo/Hello.git", **more: Any) -> int:
    made = client.post(f"{API}/projects", json={"name": f"p{uuid.uuid4().hex[:6]}",
                                                "repository_url": url, **more})  # fmt: skip
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_github_s_documented_signature_is_accepted_and_any_other_is_not() -> None:
    body = b"Hello, World!"
    documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert signatures.github(["It's a Secret to Everybody"], body, documented)
    assert not signatures.github(["It's a Secret to Everybody"], body + b" ", documented)
    assert not signatures.github(["another secret"], body, documented)
    assert not signatures.github(["It's a Secret to Everybody"], body, documented[7:])
    assert not signatures.github(["It's a Secret to Everybody"], body, None)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-GitHub-Event": "push"},  # no signature at all
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha1=abc"},
    ],
)
def test_a_delivery_without_a_valid_signature_is_refused_before_its_body_is_read(
    client: TestClient, headers: dict[str, str]
) -> None:
    answer = client.post("/webhooks/github", content=b"{not json at all", headers=headers)

    assert answer.status_code == 401
    assert "X-Hub-Signature-256" in answer.json()["detail"]


def test_with_no_secret_configured_every_delivery_is_refused(
    make_client: Callable[..., TestClient],
) -> None:
    unconfigured = make_client()
    body = push()

    answer = unconfigured.post("/webhooks/github", content=body,
                               headers=github_headers(body, "push"))  # fmt: skip

    assert answer.status_code == 401
    assert "no github webhook secret" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "event", "status", "said"),
    [
        (b"{not json", "push", 400, "not JSON"),
        (b"[1, 2, 3]", "push", 400, "JSON object"),
        (b'{"pull_request": "not an object", "action": "opened"}', "pull_request", 400, "object"),
        (b"{}", "", 400, "X-GitHub-Event"),
    ],
)
def test_a_signed_body_that_is_not_its_event_is_a_clear_bad_request(
    client: TestClient, body: bytes, event: str, status: int, said: str
) -> None:
    answer = client.post("/webhooks/github", content=body, headers=github_headers(body, event))

    assert answer.status_code == status
    assert said in answer.json()["detail"]


def test_a_delivery_over_the_size_limit_is_refused_as_too_large(
    make_client: Callable[..., TestClient],
) -> None:
    small = make_client(github_webhook_secret=SECRET, webhook_max_bytes=2048)
    body = json.dumps({"zen": "x" * 4096}).encode()

    answer = small.post("/webhooks/github", content=body, headers=github_headers(body, "ping"))

    assert answer.status_code == 413


def test_a_push_reaches_the_project_whatever_form_its_url_was_added_in_once_per_delivery(
    client: TestClient,
) -> None:
    project_id = project(client, "git@github.com:Octo/Hello.git")
    body = push("Octo/Hello", after="c" * 40)
    headers = github_headers(body, "push", delivery="d-1")

    first = client.post("/webhooks/github", content=body, headers=headers)
    again = client.post("/webhooks/github", content=body, headers=headers)

    assert first.status_code == 202 and first.json()["status"] == "queued"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    run = client.get(f"{API}/runs/{first.json()['run_id']}").json()
    assert (run["project_id"], run["trigger"], run["ref"]) == (project_id, "push", "main")
    runs = client.get(f"{API}/runs", params={"project_id": project_id}).json()
    assert len(runs["items"] if isinstance(runs, dict) else runs) == 1
    listed = client.get(f"{API}/deliveries", params={"project_id": project_id}).json()
    assert [(d["delivery_id"], d["status"]) for d in listed] == [("d-1", "queued")]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (push(ref="refs/tags/v1.0"), "tags are not scanned"),
        (push(after="0" * 40, deleted=True), "was deleted"),
        (push(repository="someone/else"), "no project watches github.com/someone/else"),
    ],
)
def test_pushes_repolens_does_not_scan_are_skipped_with_the_reason(
    client: TestClient, body: bytes, reason: str
) -> None:
    project(client)

    answer = client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))

    assert answer.status_code == 202
    assert answer.json()["status"] == "skipped" and reason in answer.json()["reason"]


def test_a_recorded_delivery_can_be_replayed_and_the_replay_is_listed(client: TestClient) -> None:
    project(client)
    body = push("octo/hello", after="e" * 40)
    first = client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))

    replayed = client.post(f"{API}/deliveries/{first.json()['delivery']}/replay")

    assert replayed.status_code == 202, replayed.text
    again = replayed.json()
    assert (again["replay_of"], again["status"], again["delivery_id"]) == (
        first.json()["delivery"], "queued", None)  # fmt: skip
    assert again["run_id"] != first.json()["run_id"]
    assert client.post(f"{API}/deliveries/99999/replay").status_code == 404


def test_a_project_s_own_secret_signs_deliveries_to_its_own_hook_only(client: TestClient) -> None:
    own = "the-project-s-own-secret-1234"
    project_id = project(client, "https://github.com/octo/hello", webhook_secret=own)
    body = push("octo/hello")

    mine = client.post(f"/webhooks/github/{project_id}", content=body,
                       headers=github_headers(body, "push", secret=own))  # fmt: skip
    deployment = client.post(f"/webhooks/github/{project_id}", content=body,
                             headers=github_headers(body, "push"))  # fmt: skip

    assert mine.status_code == 202 and mine.json()["status"] == "queued"
    assert deployment.status_code == 401
    shown = client.get(f"{API}/projects/{project_id}").json()
    assert shown["webhook_secret"] is True and own not in json.dumps(shown)


def test_gitlab_proves_itself_with_its_token_and_gitea_with_its_signature(
    client: TestClient,
) -> None:
    project(client, "https://gitlab.example.com/group/app.git")
    project(client, "https://gitea.example.com/team/svc.git")
    gitlab = json.dumps({"object_kind": "push", "ref": "refs/heads/main", "after": "f" * 40,
                         "checkout_sha": "f" * 40,
                         "project": {"path_with_namespace": "group/app",
                                     "git_http_url": "https://gitlab.example.com/group/app.git"}}
                        ).encode()  # fmt: skip
    gitea = json.dumps({"ref": "refs/heads/main", "after": "1" * 40,
                        "repository": {"full_name": "team/svc",
                                       "clone_url": "https://gitea.example.com/team/svc.git"}}
                       ).encode()  # fmt: skip
    gitea_signature = hmac.new(SECRET.encode(), gitea, hashlib.sha256).hexdigest()

    hook = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "g-1"}
    forgejo_headers = {"X-Forgejo-Event": "push", "X-Forgejo-Signature": gitea_signature,
                       "X-Forgejo-Delivery": "f-1"}  # fmt: skip

    wrong = client.post("/webhooks/gitlab", content=gitlab,
                        headers={**hook, "X-Gitlab-Token": "nope"})  # fmt: skip
    right = client.post("/webhooks/gitlab", content=gitlab,
                        headers={**hook, "X-Gitlab-Token": SECRET})  # fmt: skip
    forgejo = client.post("/webhooks/gitea", content=gitea, headers=forgejo_headers)

    assert wrong.status_code == 401
    assert right.status_code == 202 and right.json()["status"] == "queued"
    assert forgejo.status_code == 202 and forgejo.json()["status"] == "queued"


def published_payloads() -> list[Path]:
    return sorted(PAYLOADS.glob("*/*.json")) if PAYLOADS.is_dir() else []


@pytest.mark.skipif(
    not published_payloads(),
    reason=f"GitHub's published payloads are not beside this checkout ({PAYLOADS})",
)
def test_every_payload_github_publishes_is_accepted_or_skipped_with_a_reason(
    client: TestClient,
) -> None:
    project(client, "https://github.com/Codertocat/Hello-World")
    answers = {}
    for path in published_payloads():
        body = path.read_bytes()
        answer = client.post("/webhooks/github", content=body,
                             headers=github_headers(body, path.parent.name))  # fmt: skip
        answers[f"{path.parent.name}/{path.name}"] = (answer.status_code, answer.json())

    assert {name: said for name, said in answers.items() if said[0] != 202} == {}
    assert all(said["status"] == "queued" or said.get("reason") for _, said in answers.values())
    statuses = {said["status"] for _, said in answers.values()}
    assert {"queued", "skipped", "ignored", "cancelled"} <= statuses


@pytest.mark.parametrize("signature", [b"sha256=\xe9\xe9", b"\xff" * 70])
def test_a_signature_in_characters_no_digest_has_is_refused_not_a_crash(
    client: TestClient, signature: bytes
) -> None:
    body = push()
    headers = {**github_headers(body, "push")}
    headers.pop("X-Hub-Signature-256")
    answer = client.post("/webhooks/github", content=body,
                         headers=[*headers.items(), ("X-Hub-Signature-256", signature)])  # type: ignore[list-item]  # fmt: skip

    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("installation", {"action": "created", "repositories": 5}),
        ("check_suite", {"action": "rerequested", "check_suite": {"pull_requests": 7}}),
        ("push", {"ref": "refs/heads/" + "b" * 300, "after": "a" * 40}),
        ("push", {"ref": "refs/heads/ma\u0000in", "after": "a" * 40}),
        ("pull_request", {"action": "op\ud800ened", "pull_request": {}}),
    ],
)
def test_a_signed_payload_with_fields_of_the_wrong_kind_is_a_bad_request(
    client: TestClient, event: str, body: dict[str, Any]
) -> None:
    raw = json.dumps(body).encode()

    answer = client.post("/webhooks/github", content=raw, headers=github_headers(raw, event))

    assert answer.status_code == 400, answer.text


def test_json_nested_beyond_reason_is_a_bad_request(client: TestClient) -> None:
    body = b"[" * 100_000 + b"]" * 100_000

    answer = client.post("/webhooks/github", content=body, headers=github_headers(body, "push"))

    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("after", "number"), [("../../x?y", 5), ("a" * 40 + "/..", 5), ("a" * 40, 2**40)]
)
def test_a_commit_or_number_that_is_not_one_queues_nothing(
    client: TestClient, after: str, number: int
) -> None:
    project(client)
    raw = json.dumps({"action": "opened", "number": number,
                      "pull_request": {"number": number, "head": {"ref": "f", "sha": after},
                                       "base": {"ref": "main", "sha": "b" * 40}},
                      "repository": {"full_name": "octo/hello",
                                     "clone_url": "https://github.com/octo/hello.git"}}
                     ).encode()  # fmt: skip

    answer = client.post("/webhooks/github", content=raw,
                         headers=github_headers(raw, "pull_request"))  # fmt: skip

    assert answer.status_code == 202 and answer.json()["status"] == "skipped"


def test_the_same_delivery_to_two_projects_own_hooks_queues_a_run_for_each(
    client: TestClient,
) -> None:
    secret = "the-projects-shared-secret-99"
    first = project(client, "https://github.com/octo/hello", webhook_secret=secret)
    second = project(client, "git@github.com:octo/hello.git", webhook_secret=secret)
    body = push("octo/hello")
    headers = github_headers(body, "push", secret=secret, delivery="same-id")

    answers = [client.post(f"/webhooks/github/{each}", content=body, headers=headers).json()
               for each in (first, second)]  # fmt: skip

    assert [said["status"] for said in answers] == ["queued", "queued"]


def test_a_project_s_own_hook_cannot_speak_for_an_app_installation(client: TestClient) -> None:
    own = "the-project-s-own-secret-1234"
    project_id = project(client, "https://github.com/octo/hello", webhook_secret=own)
    installed = json.dumps({"action": "created", "installation": {"id": 9},
                            "repositories": [{"full_name": "victim/one"}]}).encode()  # fmt: skip
    pushed = json.dumps({"ref": "refs/heads/main", "after": "a" * 40,
                         "installation": {"id": 999},
                         "repository": {"full_name": "octo/hello",
                                        "clone_url": "https://github.com/octo/hello.git"}}
                        ).encode()  # fmt: skip

    signed_installed = github_headers(installed, "installation", secret=own)
    installing = client.post(f"/webhooks/github/{project_id}", content=installed,
                             headers=signed_installed)  # fmt: skip
    queued = client.post(f"/webhooks/github/{project_id}", content=pushed,
                         headers=github_headers(pushed, "push", secret=own))  # fmt: skip

    assert installing.json()["status"] == "ignored"
    listed = client.get(f"{API}/projects").json()
    assert [p["name"] for p in listed if p["name"].startswith("victim")] == []
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        origin = runs.get(session, queued.json()["run_id"]).origin
    assert origin["forge"] == "github" and "installation" not in origin
