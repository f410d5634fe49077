"""Hard-coded credentials, found by detect-secrets. A finding holds where the
secret is and a masked snippet, never the value (see `repolens.secrecy`).

detect-secrets is pure Python, so it runs in a child process
(`secrets_engine`) to keep the scan's other analyzers off its interpreter lock."""

from __future__ import annotations

import sys
from typing import ClassVar, Literal

from pydantic import BaseModel

from repolens import documents
from repolens.analyzers import tool
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Confidence,
    Finding,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
)
from repolens.analyzers.builtin import secrets_engine

_SKIPPED_LANGUAGES = frozenset({"markdown", "restructuredtext"})


BASELINE = ".secrets.baseline"  # detect-secrets' own: the secrets a project has accepted


class SecretsOptions(BaseModel):
    baseline_sha256: str | None = None  # set by `configure` when the project has a baseline


class SecretsAnalyzer:
    name: ClassVar[str] = "secrets"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[SecretsOptions]] = SecretsOptions
    batch_size: ClassVar[int | None] = 300

    @property
    def version(self) -> str:
        return tool.package_version("detect-secrets")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language not in _SKIPPED_LANGUAGES and file.path != BASELINE

    def configure(
        self, snapshot: Snapshot, options: SecretsOptions
    ) -> tuple[SecretsOptions, list[str]]:
        text = documents.repository_text(snapshot.root, BASELINE, secrets_engine.MAX_BASELINE)
        if text is None:
            return options, []
        return options.model_copy(update={"baseline_sha256": documents.digest(text)}), []

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[SecretsOptions]) -> Outcome:
        options = context.options
        accepted = ["--baseline", BASELINE] if options.baseline_sha256 else []
        found = tool.run_json(
            [sys.executable, "-m", secrets_engine.__name__, *accepted, *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
        )
        return Outcome([self._finding(snapshot, item) for item in found or []])

    def _finding(self, snapshot: Snapshot, item: dict[str, str | int]) -> Finding:
        kind = str(item["type"])
        path = snapshot.relative(str(item["path"]))
        return Finding(
            analyzer=self.name,
            rule_id=kind.lower().replace(" ", "-"),
            title=f"{kind} committed to the repository",
            message=f"A value that looks like {_article(kind)} {kind.lower()} is stored in the "
            "source; "
            "rotate it and load it from the environment or a secret store.",
            category=Category.SECRETS,
            severity=Severity.HIGH,
            # A named kind of token is surer than a keyword or a merely random-looking
            # string; where both report one value, the named kind speaks for it.
            confidence=Confidence.MEDIUM if _generic(kind) else Confidence.HIGH,
            path=path,
            line=int(item["line"]),
            column=int(item["column"]) or None,
            end_column=int(item["end_column"]) or None,
            snippet=str(item["snippet"]),
            cwe=798,
        )


def _generic(kind: str) -> bool:
    return "Keyword" in kind or "High Entropy" in kind


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"
