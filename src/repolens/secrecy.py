"""Keeping secrets out of every output.

The secrets analyzer records where a secret sits (line and columns), never its
value. Before a report is built, each such value is read back from the
checkout and masked wherever any engine quoted it: bandit's "hardcoded
password" message, another tool's snippet of the same line, a fix diff."""

from __future__ import annotations

import re
from dataclasses import replace

from repolens.analyzers.base import Category, Finding, Snapshot
from repolens.masking import mask

TEXT_FIELDS = ("title", "message", "snippet", "suggestion", "fix")
Trie = dict[str, "Trie"]


def secret_values(findings: list[Finding], snapshot: Snapshot) -> set[str]:
    values = set()
    lines: dict[str, list[str]] = {}
    for finding in findings:
        if finding.category is not Category.SECRETS or not (finding.column and finding.end_column):
            continue
        if finding.path not in lines:
            lines[finding.path] = snapshot.read_text(finding.path).splitlines()
        text = lines[finding.path]
        if finding.line and finding.line <= len(text):
            value = text[finding.line - 1][finding.column - 1 : finding.end_column - 1]
            if len(value) >= 4:
                values.add(value)
    return values


def redact(findings: list[Finding], values: set[str]) -> list[Finding]:
    """FINDINGS with every one of the secret VALUES masked in their text."""
    if not values:
        return findings
    pattern = re.compile(_trie(sorted(values)))
    return [_masked(finding, pattern) for finding in findings]


def _trie(values: list[str]) -> str:
    """One regex for many literals, factored by common prefix so that it costs
    one pass over the text rather than one per value; longer values win."""
    tree: Trie = {}
    for value in values:
        node = tree
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}
    return _alternatives(tree)


def _alternatives(node: Trie) -> str:
    branches = [re.escape(char) + _alternatives(child) for char, child in node.items() if char]
    if not branches:
        return ""
    ending = "" in node
    body = branches[0] if len(branches) == 1 and not ending else "(?:" + "|".join(branches) + ")"
    return body + "?" if ending else body


def _masked(finding: Finding, pattern: re.Pattern[str]) -> Finding:
    if not pattern.search("\0".join(getattr(finding, name) for name in TEXT_FIELDS)):
        return finding
    changes: dict[str, str] = {}
    for name in TEXT_FIELDS:
        text = getattr(finding, name)
        if text:
            masked = pattern.sub(lambda match: mask(match.group()), text)
            if masked != text:
                changes[name] = masked
    return replace(finding, **changes) if changes else finding  # type: ignore[arg-type]
