"""One finding per problem. Engines overlap: bandit and semgrep both flag a weak
hash, an unsafe YAML load or `eval`; the secrets engine and bandit both flag a
hard-coded password. Findings on the same line of the same file that name the
same weakness (by CWE, with the table below for CWEs and rules that name one
weakness differently) become one finding: the most severe of them, with every
engine's rule id kept as evidence. The score then counts the problem once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from repolens.analyzers.base import Confidence, Finding, Severity

# CWEs that are one weakness as far as a reader is concerned.
SAME_WEAKNESS = {259: 798, 321: 798, 328: 327, 916: 327}
# Rules whose CWE is broader than the weakness they report.
RULE_WEAKNESS = {
    ("bandit", "B506"): 502,  # yaml.load: CWE-20 in bandit, deserialisation in fact
    ("bandit", "B307"): 95,  # eval: CWE-78 in bandit, eval injection in fact
    ("bandit", "B102"): 95,  # exec, likewise
    ("bandit", "B301"): 502,  # pickle
    ("bandit", "B403"): 502,
    ("bandit", "B303"): 327,  # md5/sha1 through hashlib.new and friends
    ("bandit", "B324"): 327,
    ("bandit", "B501"): 295,  # requests with verify=False
    ("ruff", "PLE2502"): 838,  # bidirectional control characters ("trojan source")
}
_CONFIDENCE = [Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH]
# The most a weakness can justify without knowing the use: MD5 or SHA-1 in an
# HMAC or a cache key is no risk, in a password store it is; an engine that
# cannot tell says "high" (bandit), a reader would say "worth a look".
CEILING = {327: Severity.MEDIUM, 838: Severity.MEDIUM}  # and right-to-left text is legitimate


def weakness(finding: Finding) -> int | None:
    named = RULE_WEAKNESS.get((finding.analyzer, finding.rule_id), finding.cwe)
    return SAME_WEAKNESS.get(named, named) if named is not None else None


def merge(findings: list[Finding]) -> tuple[list[Finding], int]:
    """FINDINGS with those about one problem made one; and how many were merged away."""
    by_weakness: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    alone: list[Finding] = []
    for finding in findings:
        kind = weakness(finding)
        if kind is None or finding.line is None:
            alone.append(finding)
        else:
            by_weakness[(finding.path, kind)].append(finding)
    groups = [group for same in by_weakness.values() for group in _overlapping(same)]
    merged = [_one(group) if len(group) > 1 else group[0] for group in groups]
    return [_justified(f) for f in alone + merged], len(findings) - len(alone) - len(merged)


def _justified(finding: Finding) -> Finding:
    ceiling = CEILING.get(weakness(finding) or 0)
    if ceiling is None or finding.severity.rank <= ceiling.rank:
        return finding
    return replace(finding, severity=ceiling)


def _overlapping(findings: list[Finding]) -> list[list[Finding]]:
    """FINDINGS (one file, one weakness) in groups whose lines overlap: engines
    place a call that spans lines on its first line or on the offending one."""
    groups: list[list[Finding]] = []
    reach = -1
    for finding in sorted(findings, key=lambda f: f.line or 0):
        start = finding.line or 0
        end = max(start, finding.end_line or start)
        if groups and start <= reach:
            groups[-1].append(finding)
            reach = max(reach, end)
        else:
            groups.append([finding])
            reach = end
    return groups


def _one(group: list[Finding]) -> Finding:
    """The most severe of GROUP (the most confident, then one with a fix, among
    equals), carrying every rule that reported it."""
    chosen = max(group, key=lambda f: (f.severity.rank, _CONFIDENCE.index(f.confidence),
                                       bool(f.fix), bool(f.suggestion)))  # fmt: skip
    evidence = sorted({f"{f.analyzer}/{f.rule_id}" for f in group} | set(chosen.evidence))
    confidence = max((f.confidence for f in group), key=_CONFIDENCE.index)
    return replace(chosen, evidence=tuple(evidence), confidence=confidence)
