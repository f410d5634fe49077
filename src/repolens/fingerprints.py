"""Fingerprints that follow a finding across commits, line moves and renames.

A fingerprint hashes the analyzer, the rule, the file and the finding's code
line with its whitespace folded, plus an ordinal among identical ones in the
same file; the line number is left out, so code moving up or down keeps its
findings' identities. The parts are kept (`Mark`), so a finding whose file was
renamed can be given the fingerprint it has under the new name."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace

from repolens.analyzers.base import Finding


@dataclass(frozen=True)
class Mark:
    """What a fingerprint is made of."""

    analyzer: str
    rule_id: str
    path: str
    anchor: str
    ordinal: int

    @property
    def fingerprint(self) -> str:
        parts = (self.analyzer, self.rule_id, self.path, self.anchor, str(self.ordinal))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def moved_to(self, path: str) -> Mark:
        return replace(self, path=path)


def assign(findings: list[Finding]) -> list[Finding]:
    """FINDINGS in a stable order, each with its fingerprint, duplicates dropped."""
    return [replace(finding, fingerprint=mark.fingerprint) for finding, mark in marked(findings)]


def marked(findings: list[Finding]) -> list[tuple[Finding, Mark]]:
    """FINDINGS in a stable order, duplicates dropped, each with its Mark."""
    ordered = sorted(
        set(findings),
        key=lambda f: (f.path, f.line or 0, f.column or 0, f.analyzer, f.rule_id, f.message),
    )
    seen: Counter[tuple[str, ...]] = Counter()
    result = []
    for finding in ordered:
        anchor = " ".join((finding.snippet or finding.message).split())
        key = (finding.analyzer, finding.rule_id, finding.path, anchor)
        result.append((finding, Mark(*key, seen[key])))
        seen[key] += 1
    return result
