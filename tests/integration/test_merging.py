"""One finding per problem, however many engines report it."""

from __future__ import annotations

from collections.abc import Callable

from repolens import scan
from repolens.settings import Settings
from tests.conftest import Repo

CODE = """import hashlib
import yaml


def digest(data):
    return hashlib.md5(data).hexdigest()


def config(text):
    return yaml.load(text)


def check(given):
    return eval(given)


password = "hunter2-correct-horse-battery"
"""


def test_engines_that_report_one_problem_give_one_finding_with_their_rules_as_evidence(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"app.py": CODE})
    request = scan.ScanRequest(str(repo.path), analyzers=["bandit", "semgrep", "secrets"])
    report = scan.run(request, settings)

    by_line: dict[int | None, list[str]] = {}
    for finding in report.findings:
        by_line.setdefault(finding.line, []).append(finding.rule_id)
    assert all(len(rules) == 1 for rules in by_line.values()), by_line
    evidence = {f.line: set(f.evidence) for f in report.findings if f.evidence}
    assert {"bandit/B324", "semgrep/python-weak-hash"} <= evidence[6]
    # bandit calls any MD5 high; without knowing the use, medium is what it justifies.
    assert [f.severity.value for f in report.findings if f.line == 6] == ["medium"]
    assert {"bandit/B506", "semgrep/python-yaml-unsafe-load"} <= evidence[10]
    assert {"bandit/B307", "semgrep/python-eval-of-dynamic-input"} <= evidence[14]
    assert {"bandit/B105", "secrets/secret-keyword"} <= evidence[17]
    assert report.merged >= 4
    counted = sum(report.score.by_severity.values())
    assert counted == len(report.findings)  # the score counts each problem once


def test_a_call_over_several_lines_reported_on_different_lines_is_one_finding(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({"tool.py": "import subprocess\n\n\ndef count(path):\n    return subprocess.run(\n"
                 '        "wc -l %s" % path,\n        capture_output=True,\n        shell=True,\n'
                 "    )\n"})  # fmt: skip
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["bandit", "semgrep"]), settings)
    shell = [f for f in report.findings if f.cwe == 78 and f.line != 1]  # not the import
    assert len(shell) == 1, [(f.analyzer, f.rule_id, f.line) for f in report.findings]
    assert {"bandit/B602", "semgrep/python-subprocess-shell-true"} <= set(shell[0].evidence)
