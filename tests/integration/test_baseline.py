"""A baseline accepts today's findings so that the gate judges new code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Repo
from tests.integration.conftest import Result

OLD = "import subprocess\n\n\ndef run(command):\n    subprocess.call(command, shell=True)\n"
NEW = "import subprocess\n\n\ndef other(line):\n    return subprocess.Popen(line, shell=True)\n"


def test_with_a_baseline_only_new_findings_fail_the_gate_and_renames_keep_identities(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app/runner.py": OLD})
    made = repolens("baseline", str(repo.path), "--analyzers", "bandit", "-q")
    assert made.code == 0, made.stderr
    written = json.loads((repo.path / ".repolens-baseline.json").read_text())
    assert {entry["rule_id"] for entry in written["findings"]} == {"B404", "B602"}
    repo.commit({".repolens-baseline.json": (repo.path / ".repolens-baseline.json").read_text()})

    out = tmp_path / "out"
    args = ("--analyzers", "bandit", "--fail-on", "high", "--out", str(out))
    assert repolens("scan", str(repo.path), *args).code == 0  # high, but accepted

    repo.git("mv", "app/runner.py", "app/commands.py")  # renamed, and new code beside it
    repo.commit({"app/extra.py": NEW, "app/commands.py": "# moved\n" + OLD})
    gated = repolens("scan", str(repo.path), *args)
    report = json.loads((out / "report.json").read_text())
    states = {(f["path"], f["rule_id"]): f["state"] for f in report["findings"]}
    assert states[("app/commands.py", "B602")] == "existing"
    assert states[("app/extra.py", "B602")] == "new"
    assert report["baseline"]["existing"] == 2
    assert gated.code == 1 and "app/extra.py:5" in gated.stderr
    assert "app/commands.py" not in gated.stderr


def test_a_broken_baseline_is_a_warning_and_every_finding_counts(
    repolens: Callable[..., Result], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"app.py": OLD, ".repolens-baseline.json": '{"findings": [{"x": 1}]}'})
    result = repolens("scan", str(repo.path), "--analyzers", "bandit", "--fail-on", "high",
                      "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.code == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["baseline"] is None
    assert any(".repolens-baseline.json is ignored" in w for w in report["warnings"])
