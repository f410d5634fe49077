"""A project's inline suppressions are honoured, and counted where a reader sees them."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo

CODE = """import subprocess  # nosec
import os  # noqa: F401


def a(c):
    subprocess.call(c, shell=True)  # repolens: ignore[B602]


def b(c):
    # repolens: ignore
    return eval(c)


def d(c):
    subprocess.call(c, shell=True)  # repolens: ignore[E501]


TOKEN = "AKIAZ7QW3RTY5UIO9PLK"  # pragma: allowlist secret
"""


def test_inline_suppressions_are_honoured_and_counted(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"app.py": CODE})
    request = scan.ScanRequest(str(repo.path), analyzers=["ruff", "bandit", "semgrep", "secrets"])
    report = scan.run(request, settings)
    lines = sorted({f.line for f in report.findings})
    assert lines == [15]  # only the one whose marker names another rule
    assert report.suppressed == {"nosec": 1, "noqa": 1, "repolens: ignore": 3,
                                 "allowlist secret": 1}  # fmt: skip
