"""Each engine follows the project's own configuration when it has one."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo

UTC_CODE = "import datetime\n\nNOW = datetime.datetime.now(datetime.timezone.utc)\n"
DEFERRED = "def make() -> Later:\n    return Later()\n\n\nclass Later:\n    pass\n"


def rules(repo: Repo, settings: Settings) -> set[tuple[str, str]]:
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["ruff"]), settings)
    (step,) = report.steps
    assert step.status == "completed", step.error
    return {(f.path, f.rule_id) for f in report.findings}


def test_ruff_aims_at_the_python_the_project_supports(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    supports = '[project]\nname = "x"\nrequires-python = ">=3.10"\n'
    repo.commit({"app.py": UTC_CODE, "later.py": DEFERRED, "pyproject.toml": supports})
    found = rules(repo, settings)
    assert ("app.py", "UP017") not in found  # datetime.UTC is 3.11+: not for this project
    assert ("later.py", "F821") in found  # before 3.14 that annotation is an error

    repo.commit({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.14"\n'})
    found = rules(repo, settings)
    assert ("later.py", "F821") not in found  # 3.14 evaluates annotations lazily
    assert ("app.py", "UP017") in found


def test_ruff_uses_the_projects_rules_and_exclusions(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    config = '[tool.ruff]\nexclude = ["legacy"]\n[tool.ruff.lint]\nselect = ["F401"]\n'
    repo.commit({"pyproject.toml": config, "app.py": "import os\nx = 1 == None\n",
                 "legacy/old.py": "import sys\n"})  # fmt: skip
    assert rules(repo, settings) == {("app.py", "F401")}  # not E711, not legacy/


def test_a_ruff_configuration_that_extends_a_server_file_is_not_used(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"ruff.toml": 'extend = "/etc/ruff.toml"\n', "app.py": "import os\n"})
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["ruff"]), settings)
    (step,) = report.steps
    assert any("outside the repository" in warning for warning in step.warnings)
    assert {f.rule_id for f in report.findings} == {"F401"}  # repolens's rules instead
