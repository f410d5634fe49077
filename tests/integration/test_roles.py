"""Where a file lives decides whether its findings count toward the score."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo

RISKY = "import subprocess\n\n\ndef run(command):\n    subprocess.call(command, shell=True)\n"
SECRET = 'API_KEY = "AKIAZ7QW3RTY5UIO9PLK"\n'


def scanned(repo: Repo, settings: Settings) -> scan.Report:
    return scan.run(scan.ScanRequest(str(repo.path), analyzers=["bandit", "secrets"]), settings)


def test_findings_in_tests_and_fixtures_are_reported_but_only_production_code_is_scored(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"src/app.py": "def add(a, b):\n    return a + b\n" * 20,
                 "tests/test_app.py": RISKY * 5, "tests/fixtures/keys.py": SECRET,
                 "examples/demo.py": RISKY})  # fmt: skip
    report = scanned(repo, settings)
    roles = {f.path: f.role for f in report.findings}
    assert roles == {"tests/test_app.py": "test", "tests/fixtures/keys.py": "fixture",
                     "examples/demo.py": "example"}  # fmt: skip
    assert report.score.score == 100 and report.score.grade == "A"
    assert set(report.by_role) == {"test", "fixture", "example"}
    assert sum(report.by_role.values()) == len(report.findings)
    (secret,) = [f for f in report.findings if f.category.value == "secrets"]
    assert secret.confidence.value == "low"

    repo.commit({"src/app.py": RISKY + SECRET})
    risky = scanned(repo, settings)
    assert risky.score.score < 100
    assert [f.confidence.value for f in risky.findings
            if f.category.value == "secrets" and f.role == "source"] == ["high"]  # fmt: skip


def test_the_repository_names_its_own_exclusions_and_roles(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({
        ".repolens.yml": "exclude: ['legacy/**']\nroles: {fixture: ['seed/**']}\n",
        ".gitattributes": "gen/** linguist-generated\n",
        "legacy/old.py": RISKY, "seed/data.py": RISKY, "gen/api.py": RISKY, "app.py": "x = 1\n",
    })  # fmt: skip
    report = scanned(repo, settings)
    assert {f.path: f.role for f in report.findings} == {"seed/data.py": "fixture"}
    assert report.inventory.skipped["excluded by .repolens.yml"] == 1
    assert report.inventory.skipped["generated"] == 1
