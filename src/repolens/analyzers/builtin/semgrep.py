"""Pattern-based findings from semgrep, with rule files that ship inside
repolens (no registry, no login, no network)."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

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

LANGUAGES = frozenset({"python", "javascript", "typescript"})
_SEVERITY = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM, "INFO": Severity.LOW}
_CWE = re.compile(r"CWE-(\d+)")


def bundled_rules() -> Path:
    return Path(str(files("repolens.analyzers") / "rules"))


class SemgrepOptions(BaseModel):
    rules: list[str] = []  # extra local rule files or directories, besides the bundled ones
    per_file_timeout_seconds: int = 30


class SemgrepAnalyzer:
    name: ClassVar[str] = "semgrep"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[BaseModel]] = SemgrepOptions
    batch_size: ClassVar[int | None] = None  # one process: semgrep's start-up is its cost

    @property
    def version(self) -> str:
        return tool.package_version("semgrep")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language in LANGUAGES

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext) -> Outcome:
        options = context.options
        assert isinstance(options, SemgrepOptions)
        argv = [
            tool.executable("semgrep"), "scan", "--json", "--quiet", "--metrics=off",
            "--disable-version-check", "--no-git-ignore", "--jobs", "1",
            "--timeout", str(options.per_file_timeout_seconds),
            "--config", str(bundled_rules()),
        ]  # fmt: skip
        for extra in options.rules:
            argv += ["--config", extra]
        report = tool.run_json(
            [*argv, *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=(0, 1),
        )
        report = report or {}
        warnings = [
            f"semgrep: {e.get('message', e.get('type'))}"[:300] for e in report.get("errors", [])
        ]
        findings = [self._finding(snapshot, item) for item in report.get("results", [])]
        return Outcome(findings, warnings=warnings)

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        extra = item.get("extra", {})
        metadata = extra.get("metadata") or {}
        path = snapshot.relative(item["path"])
        cwe = _CWE.search(" ".join(_as_list(metadata.get("cwe"))))
        message = extra.get("message", "").strip()
        return Finding(
            analyzer=self.name,
            rule_id=item["check_id"].rsplit(".", 1)[-1],
            title=metadata.get("title") or message.split(".")[0][:200],
            message=message,
            category=_category(metadata.get("category")),
            severity=_SEVERITY.get(extra.get("severity", ""), Severity.MEDIUM),
            confidence=_confidence(metadata.get("confidence")),
            path=path,
            line=item["start"]["line"],
            column=item["start"]["col"],
            end_line=item["end"]["line"],
            end_column=item["end"]["col"],
            snippet=snapshot.line(path, item["start"]["line"]),
            suggestion=extra.get("fix", "") or "",
            cwe=int(cwe.group(1)) if cwe else None,
            links=tuple(_as_list(metadata.get("references"))),
        )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _category(value: Any) -> Category:
    try:
        return Category(str(value))
    except ValueError:
        return Category.SECURITY


def _confidence(value: Any) -> Confidence:
    try:
        return Confidence(str(value).lower())
    except ValueError:
        return Confidence.MEDIUM
