"""Keeping secrets out of every output.

The secrets analyzer records where a secret sits (line and columns), never its
value. Before a report is built, each such value is read back from the
checkout and masked wherever any engine quoted it: bandit's "hardcoded
password" message, another tool's snippet of the same line, a fix diff."""

from __future__ import annotations

import re
from dataclasses import replace

from repolens.analyzers.base import Category, Finding, Snapshot

TEXT_FIELDS = ("title", "message", "snippet", "suggestion", "fix")


def mask(value: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:2]}{'*' * min(len(value) - 4, 16)}{value[-2:]}"


def secret_values(findings: list[Finding], snapshot: Snapshot) -> set[str]:
    values = set()
    for finding in findings:
        if finding.category is not Category.SECRETS or not (finding.column and finding.end_column):
            continue
        lines = snapshot.read_text(finding.path).splitlines()
        if finding.line and finding.line <= len(lines):
            value = lines[finding.line - 1][finding.column - 1 : finding.end_column - 1]
            if len(value) >= 4:
                values.add(value)
    return values


def redact(findings: list[Finding], values: set[str]) -> list[Finding]:
    """FINDINGS with every one of the secret VALUES masked in their text."""
    if not values:
        return findings
    # Longest first, so a secret that contains another is masked whole.
    pattern = re.compile("|".join(map(re.escape, sorted(values, key=len, reverse=True))))
    return [_masked(finding, pattern) for finding in findings]


def _masked(finding: Finding, pattern: re.Pattern[str]) -> Finding:
    changes = {}
    for name in TEXT_FIELDS:
        text = getattr(finding, name)
        if text:
            masked = pattern.sub(lambda match: mask(match.group()), text)
            if masked != text:
                changes[name] = masked
    return replace(finding, **changes) if changes else finding
