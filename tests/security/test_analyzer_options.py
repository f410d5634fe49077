"""A project's analyzer options cannot point an engine at the server's files or
slip it an option."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo
from tests.security.conftest import API


@pytest.mark.parametrize("options", [
    {"semgrep": {"rules": ["/etc/passwd"]}},
    {"semgrep": {"rules": ["rules/../../../etc/shadow"]}},
    {"semgrep": {"per_file_timeout_seconds": -1}},
    {"ruff": {"select": ["--config=/etc/passwd"]}},
    {"bandit": {"skips": ["B101,--ini=/etc/passwd"]}},
    {"complexity": {"max_parameters": 0}},
    {"no-such-analyzer": {}},
])  # fmt: skip
def test_options_that_reach_outside_the_repository_are_refused(
    make_client: Callable[..., TestClient], tmp_path: Path, options: dict[str, Any]
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    body = {"name": "p", "repository_url": str(tmp_path), "analyzer_options": options}
    refused = client.post(f"{API}/projects", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.analyzer_options"


def test_a_rule_file_that_links_out_of_the_repository_is_skipped_with_a_warning(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.write({"app.py": "import os\n"})
    os.symlink("/etc/passwd", repo.path / "rules.yml")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    request = scan.ScanRequest(str(repo.path), analyzers=["semgrep"],
                               options={"semgrep": {"rules": ["rules.yml"]}})  # fmt: skip
    report = scan.run(request, settings)
    (step,) = report.steps
    assert step.status == "completed"
    assert any("not a file of the repository" in warning for warning in step.warnings)
