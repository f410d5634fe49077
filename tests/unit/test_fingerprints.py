from __future__ import annotations

from dataclasses import replace

from repolens.analyzers.base import Category, Finding, Severity
from repolens.fingerprints import assign


def finding(line: int, snippet: str = "eval(x)") -> Finding:
    return Finding("semgrep", "eval", "Eval", "m", Category.SECURITY, Severity.HIGH, "a.py",
                   line=line, snippet=snippet)  # fmt: skip


def test_a_finding_keeps_its_fingerprint_when_its_code_moves() -> None:
    before = assign([finding(10)])[0]
    after = assign([finding(42)])[0]
    assert before.fingerprint == after.fingerprint


def test_identical_findings_in_one_file_get_distinct_fingerprints() -> None:
    first, second = assign([finding(3), finding(9)])
    assert first.fingerprint != second.fingerprint


def test_a_changed_line_is_a_different_finding() -> None:
    assert assign([finding(3)])[0].fingerprint != assign([finding(3, "eval(y)")])[0].fingerprint


def test_exact_duplicates_are_reported_once() -> None:
    one = finding(3)
    assert len(assign([one, replace(one)])) == 1
