"""A baseline: the findings a team has accepted for now, so that the gate judges
new code. `repolens baseline` writes `.repolens-baseline.json` (to be
committed); a scan that finds one at the top of the repository marks each
finding `existing` (in the baseline) or `new`.

The file comes from the repository, so it is read as a stranger's: bounded,
typed, and a bad one is a warning. Entries keep what their fingerprint is made
of, so a file renamed since the baseline (git's rename detection) keeps its
findings' identities."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from repolens import documents, fingerprints
from repolens.analyzers.base import Finding

NAME = ".repolens-baseline.json"
MAX_BYTES = 20_000_000


class Entry(BaseModel):
    fingerprint: str = Field(max_length=64)
    analyzer: str = Field(max_length=100)
    rule_id: str = Field(max_length=300)
    path: str = Field(max_length=2000)
    anchor: str = Field(max_length=2000)
    ordinal: int = Field(ge=0)
    severity: str = Field(default="", max_length=16)
    title: str = Field(default="", max_length=500)


class Baseline(BaseModel):
    version: int = 1
    tool: str = "repolens"
    commit: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = None
    findings: list[Entry] = Field(default=[], max_length=200_000)

    def fingerprints(self, renamed: Mapping[str, str] | None = None) -> set[str]:
        """The fingerprints of its findings, those in renamed files as they are now."""
        renamed = renamed or {}
        known = set()
        for entry in self.findings:
            mark = fingerprints.Mark(entry.analyzer, entry.rule_id, entry.path, entry.anchor,
                                     entry.ordinal)  # fmt: skip
            known.add(mark.moved_to(renamed[entry.path]).fingerprint
                      if entry.path in renamed else entry.fingerprint)  # fmt: skip
        return known


def of(findings: list[Finding], commit: str | None) -> Baseline:
    entries = [
        Entry(fingerprint=mark.fingerprint, analyzer=mark.analyzer, rule_id=mark.rule_id,
              path=mark.path, anchor=mark.anchor, ordinal=mark.ordinal,
              severity=finding.severity.value, title=finding.title[:500])
        for finding, mark in fingerprints.marked(findings)
    ]  # fmt: skip
    return Baseline(commit=commit, created_at=datetime.now(UTC), findings=entries)


def write(baseline: Baseline, path: Path) -> Path:
    text = json.dumps(baseline.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def read(root: Path) -> tuple[Baseline | None, list[str]]:
    """The baseline at the top of ROOT, if there is one, and what is wrong with it."""
    path = root / NAME
    if path.is_symlink() or not path.is_file():
        return None, []
    if path.stat().st_size > MAX_BYTES:
        return None, [f"{NAME} is ignored: larger than {MAX_BYTES} bytes"]
    try:
        data = documents.json(path.read_text(encoding="utf-8", errors="replace"), MAX_BYTES)
        return Baseline.model_validate(data), []
    except documents.Unreadable as exc:
        return None, [f"{NAME} is ignored: {exc}"]
    except ValidationError as exc:
        return None, [f"{NAME} is ignored: {exc.errors()[0]['msg']}"]


def judged(findings: list[Finding], known: set[str]) -> list[Finding]:
    """FINDINGS marked `existing` when KNOWN has them, else `new`."""
    return [replace(f, state="existing" if f.fingerprint in known else "new") for f in findings]
