"""A forge's pull request end to end, with real processes: a loopback git
server plays the forge's git side and a fake API its REST side. A signed
`pull_request` delivery queues a run of the head; the forge hears it started
and how it ended, with the new findings on the lines they are on; a push that
fixes one finding brings feedback without it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from repolens.settings import Settings
from tests.conftest import Repo
from tests.e2e.test_live_updates import AUTH, free_port, start_api
from tests.e2e.test_worker_crash import broker_url, settings
from tests.forge import Call, FakeForge
from tests.git_server import GitServer
from tests.workers import start_worker, stop

__all__ = ["broker_url", "settings"]

SECRET = "e2e-webhook-secret-0123456789"
CLEAN = "def add(a, b):\n    return a + b\n"
RISKY = ("import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n\n\n"
         "def load(text):\n    return eval(text)\n")  # fmt: skip
SAFER = "import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    served = FakeForge()
    yield served
    served.shutdown()


@pytest.fixture
def git(tmp_path: Path) -> Iterator[GitServer]:
    served = GitServer(tmp_path / "forge")
    yield served
    served.shutdown()


def signed(body: bytes, event: str) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
            "Content-Type": "application/json"}  # fmt: skip


def deliver(port: int, event: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    answer = httpx.post(f"http://127.0.0.1:{port}/webhooks/github", content=raw,
                        headers=signed(raw, event), timeout=10)  # fmt: skip
    assert answer.status_code == 202, answer.text
    said: dict[str, Any] = answer.json()
    return said


def repository(url: str) -> dict[str, Any]:
    return {"full_name": "octo/hello", "clone_url": url}


def pull_request(url: str, action: str, head: str, base: str) -> dict[str, Any]:
    return {"action": action, "number": 12, "installation": {"id": 42},
            "pull_request": {"number": 12, "draft": False,
                             "head": {"ref": "feature", "sha": head},
                             "base": {"ref": "main", "sha": base}},
            "repository": repository(url)}  # fmt: skip


def wait_for(condition: Callable[[], bool], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def run_status(port: int, run_id: int) -> str:
    said: str = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/{run_id}", headers=AUTH,
                          timeout=5).json()["status"]  # fmt: skip
    return said


def flow(port: int, repo: Repo, git: GitServer, forge: FakeForge,
         ended: Callable[[str], list[Call]]) -> tuple[list[Call], list[Call]]:  # fmt: skip
    """Push main, open a pull request with two problems, fix one; returns the
    feedback calls that ended each pull-request run."""
    url = git.url("octo/hello")
    made = httpx.post(f"http://127.0.0.1:{port}/api/v1/projects",
                      json={"name": "hello", "repository_url": url}, headers=AUTH,
                      timeout=10)  # fmt: skip
    assert made.status_code == 201, made.text
    base = repo.commit({"calc.py": CLEAN})
    git.publish("octo/hello", repo.path)
    pushed = deliver(port, "push", {"ref": "refs/heads/main", "after": base,
                                    "repository": repository(url)})  # fmt: skip
    wait_for(lambda: run_status(port, pushed["run_id"]) == "completed")

    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"tool.py": RISKY})
    git.publish("octo/hello", repo.path)
    opened = deliver(port, "pull_request", pull_request(url, "opened", head, base))
    wait_for(lambda: len(ended(head)) >= 1)
    first = ended(head)

    fixed = repo.commit({"tool.py": SAFER})
    git.publish("octo/hello", repo.path)
    again = deliver(port, "pull_request", pull_request(url, "synchronize", fixed, base))
    wait_for(lambda: len(ended(fixed)) >= 1)
    assert opened["status"] == again["status"] == "queued"
    return first, ended(fixed)


def test_in_the_embedded_deployment_a_check_run_follows_the_pull_request(
    make_repo: Callable[..., Repo], git: GitServer, forge: FakeForge, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    port = free_port()
    local = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    server = start_api(local, port, tmp_path / "api.log", REPOLENS_BROKER_URL="",
                       REPOLENS_DATABASE_URL="", REPOLENS_GITHUB_WEBHOOK_SECRET=SECRET,
                       REPOLENS_GITHUB_API_URL=forge.url, REPOLENS_GITHUB_APP_ID="7",
                       REPOLENS_GITHUB_APP_PRIVATE_KEY=pem)  # fmt: skip

    def completed(head: str) -> list[Call]:
        opened = {str(c.answer["id"]) for c in forge.made("POST", r".*/check-runs")
                  if c.body["head_sha"] == head}  # fmt: skip
        return [
            c
            for c in forge.made("PATCH", r".*/check-runs/\d+")
            if c.path.rsplit("/", 1)[-1] in opened and c.body.get("status") == "completed"
        ]

    try:
        first, second = flow(port, make_repo(), git, forge, completed)
    finally:
        stop(server)

    assert first[0].body["conclusion"] == "failure"  # shell=True is high: the gate says no
    placed = {(a["path"], a["start_line"]) for a in first[0].body["output"]["annotations"]}
    assert ("tool.py", 5) in placed and ("tool.py", 9) in placed
    later = {(a["path"], a["start_line"]) for a in second[0].body["output"]["annotations"]}
    assert ("tool.py", 5) in later and ("tool.py", 9) not in later  # eval is gone
    in_progress = forge.made("POST", r".*/check-runs")
    assert [c.body["status"] for c in in_progress] == ["in_progress", "in_progress"]
    assert forge.made("POST", "/app/installations/42/access_tokens")


def test_distributed_one_comment_is_kept_up_to_date_on_the_pull_request(
    settings: Settings, make_repo: Callable[..., Repo], git: GitServer, forge: FakeForge,
    tmp_path: Path,
) -> None:  # fmt: skip
    extra = {"REPOLENS_GITHUB_WEBHOOK_SECRET": SECRET, "REPOLENS_GITHUB_API_URL": forge.url,
             "REPOLENS_GITHUB_TOKEN": "ghp_e2e"}  # fmt: skip
    worker = start_worker(settings, "f0", tmp_path / "worker.log", **extra)
    port = free_port()
    server = start_api(settings, port, tmp_path / "api.log", **extra)

    def statuses(head: str) -> list[Call]:
        return [c for c in forge.made("POST", rf".*/statuses/{head}")
                if c.body["state"] in ("success", "failure")]  # fmt: skip

    try:
        flow(port, make_repo(), git, forge, statuses)
    finally:
        stop(server)
        stop(worker)

    (posted,) = forge.made("POST", "/repos/octo/hello/issues/12/comments")
    edits = forge.made("PATCH", r"/repos/octo/hello/issues/comments/\d+")
    assert len(edits) == 1 and all(call.authorization == "token ghp_e2e" for call in edits)
    line_9, line_5 = "tool\\.py\\:9", "tool\\.py\\:5"  # as Markdown, escaped
    assert line_9 in posted.body["body"] and line_9 not in edits[0].body["body"]
    assert line_5 in edits[0].body["body"]
