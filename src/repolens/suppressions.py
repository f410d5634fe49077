"""Inline suppressions: the markers a project writes next to a line to say a
finding there is known and accepted. Each engine honours its own (`# noqa` for
ruff, `# nosec` for bandit, `nosemgrep`, `pragma: allowlist secret` for
detect-secrets); repolens honours `repolens: ignore` and
`repolens: ignore[rule, …]` on the finding's line or the line above, for any
engine's rule. An engine's marker also covers the other engines that report
the same thing on that line: `# nosec` and `nosemgrep` any security finding,
`pragma: allowlist secret` any hard-coded credential. The report counts the
markers of each kind in the files it analysed, so a reader sees how much the
project has waved through."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from repolens import merging
from repolens.analyzers.base import Category, Finding, Snapshot, SourceFile

CREDENTIALS = 798  # CWE: hard-coded credentials

MARKERS = {
    "noqa": re.compile(r"#\s*noqa\b", re.IGNORECASE),
    "nosec": re.compile(r"#\s*nosec\b"),
    "nosemgrep": re.compile(r"\bnosemgrep\b"),
    "allowlist secret": re.compile(r"pragma:\s*allowlist[ -]secret"),
    "repolens: ignore": re.compile(r"repolens:\s*ignore\b"),
}
_OURS = re.compile(r"repolens:\s*ignore(?:\[([^\]]{0,500})\])?")


def count(snapshot: Snapshot, files: Iterable[SourceFile]) -> dict[str, int]:
    """How many of each kind of marker the FILES hold."""
    found: Counter[str] = Counter()
    for file in files:
        text = snapshot.read_text(file)
        if "no" not in text and "pragma" not in text and "repolens" not in text:
            continue
        for kind, pattern in MARKERS.items():
            found[kind] += len(pattern.findall(text))
    return {kind: number for kind, number in found.items() if number}


def honoured(snapshot: Snapshot, findings: list[Finding]) -> list[Finding]:
    """FINDINGS less those a `repolens: ignore` marker waves through."""
    lines: dict[str, list[str]] = {}
    kept = []
    for finding in findings:
        if finding.line is None:
            kept.append(finding)
            continue
        if finding.path not in lines:
            lines[finding.path] = snapshot.read_text(finding.path).splitlines()
        text = lines[finding.path]
        nearby = text[max(finding.line - 2, 0) : finding.line]
        if not any(_waves(line, finding) for line in nearby):
            kept.append(finding)
    return kept


def _waves(line: str, finding: Finding) -> bool:
    if finding.category is Category.SECURITY and (
        MARKERS["nosec"].search(line) or MARKERS["nosemgrep"].search(line)
    ):
        return True
    if MARKERS["allowlist secret"].search(line) and merging.weakness(finding) == CREDENTIALS:
        return True
    match = _OURS.search(line)
    if match is None:
        return False
    if match.group(1) is None:
        return True
    named = {rule.strip() for rule in match.group(1).split(",") if rule.strip()}
    own = {finding.rule_id, f"{finding.analyzer}/{finding.rule_id}", *finding.evidence}
    own |= {entry.split("/", 1)[-1] for entry in finding.evidence}
    return bool(named & own)
