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
    assert ("later.py", "F821") in rules(repo, settings)  # before 3.14: an undefined name

    repo.commit({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.14"\n'})
    assert ("later.py", "F821") not in rules(repo, settings)  # 3.14 evaluates it lazily

    # A project that opts into pyupgrade gets it, aimed at what it supports.
    config = (
        '[project]\nname = "x"\nrequires-python = ">=3.10"\n[tool.ruff.lint]\nselect = ["UP"]\n'
    )
    repo.commit({"pyproject.toml": config})
    assert ("app.py", "UP017") not in rules(repo, settings)  # datetime.UTC is 3.11+
    repo.commit({"pyproject.toml": config.replace("3.10", "3.11")})
    assert ("app.py", "UP017") in rules(repo, settings)


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


SHELL = "import subprocess\n\n\ndef run(c):\n    subprocess.call(c, shell=True)\n"


def test_bandit_follows_the_projects_skips_and_excluded_folders(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    config = '[tool.bandit]\nskips = ["B404"]\nexclude_dirs = ["tools"]\n'
    repo.commit({"pyproject.toml": config, "app.py": SHELL, "tools/dev.py": SHELL})
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["bandit"]), settings)
    assert {(f.path, f.rule_id) for f in report.findings} == {("app.py", "B602")}


def test_semgrep_follows_the_projects_semgrepignore(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({".semgrepignore": "# generated clients\nclients/\n", "app.py": SHELL,
                 "clients/api.py": SHELL})  # fmt: skip
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["semgrep"]), settings)
    assert {f.path for f in report.findings} == {"app.py"}


def test_secrets_in_the_projects_detect_secrets_baseline_are_accepted(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    import hashlib
    import json

    accepted, fresh = "AKIAZ7QW3RTY5UIO9PLK", "AKIAQQ2W3E4R5T6Y7U8I"
    baseline = {"results": {"config.py": [{"type": "AWS Access Key", "line_number": 1,
                "hashed_secret": hashlib.sha1(accepted.encode()).hexdigest()}]}}  # fmt: skip
    repo = make_repo()
    repo.commit({".secrets.baseline": json.dumps(baseline),
                 "config.py": f'KEY = "{accepted}"\nOTHER = "{fresh}"\n'})  # fmt: skip
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["secrets"]), settings)
    assert [(f.path, f.line) for f in report.findings] == [("config.py", 2)]
