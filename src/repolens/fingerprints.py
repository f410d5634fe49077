"""Fingerprints that follow a finding across commits and line moves.

A fingerprint hashes the analyzer, the rule, the file and the finding's code
line with its whitespace folded, plus an ordinal among identical ones in the
same file; the line number is left out, so code moving up or down keeps its
findings' identities."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

from repolens.analyzers.base import Finding


def assign(findings: list[Finding]) -> list[Finding]:
    """FINDINGS in a stable order, each with its fingerprint, duplicates dropped."""
    ordered = sorted(
        set(findings),
        key=lambda f: (f.path, f.line or 0, f.column or 0, f.analyzer, f.rule_id, f.message),
    )
    seen: Counter[tuple[str, ...]] = Counter()
    result = []
    for finding in ordered:
        anchor = " ".join((finding.snippet or finding.message).split())
        key = (finding.analyzer, finding.rule_id, finding.path, anchor)
        ordinal = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\x1f".join((*key, str(ordinal))).encode()).hexdigest()
        result.append(replace(finding, fingerprint=digest[:32]))
    return result
