"""Quality and bug findings from ruff, with its fixes kept as unified diffs."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

from repolens.analyzers import tool
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Finding,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
)

RuleCode = Annotated[str, Field(pattern=r"^([A-Z]{1,4}[0-9]{0,4}|ALL)$")]


class RuffOptions(BaseModel):
    # Security rules are bandit's job; ruff keeps to bugs and quality.
    select: list[RuleCode] = ["E4", "E7", "E9", "F", "B", "UP", "SIM", "PLE"]
    ignore: list[RuleCode] = []


# Longest prefix wins.
_RULES: dict[str, tuple[Category, Severity]] = {
    "E9": (Category.BUG, Severity.HIGH),
    "F8": (Category.BUG, Severity.HIGH),
    "F63": (Category.BUG, Severity.HIGH),
    "F7": (Category.BUG, Severity.HIGH),
    "F401": (Category.MAINTAINABILITY, Severity.LOW),
    "F841": (Category.MAINTAINABILITY, Severity.LOW),
    "F": (Category.BUG, Severity.MEDIUM),
    "PLE": (Category.BUG, Severity.HIGH),
    "B": (Category.BUG, Severity.MEDIUM),
    "S": (Category.SECURITY, Severity.MEDIUM),
    "E": (Category.STYLE, Severity.LOW),
    "W": (Category.STYLE, Severity.INFO),
    "UP": (Category.MAINTAINABILITY, Severity.INFO),
    "SIM": (Category.MAINTAINABILITY, Severity.LOW),
    "C90": (Category.COMPLEXITY, Severity.MEDIUM),
    "PERF": (Category.PERFORMANCE, Severity.LOW),
    "D": (Category.DOCUMENTATION, Severity.INFO),
}


def classify(code: str) -> tuple[Category, Severity]:
    for length in range(len(code), 0, -1):
        if code[:length] in _RULES:
            return _RULES[code[:length]]
    return Category.STYLE, Severity.LOW


class RuffAnalyzer:
    name: ClassVar[str] = "ruff"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[BaseModel]] = RuffOptions
    batch_size: ClassVar[int | None] = 400

    @property
    def version(self) -> str:
        return tool.package_version("ruff")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "python"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext) -> Outcome:
        options = context.options
        assert isinstance(options, RuffOptions)
        argv = [
            tool.executable("ruff"), "check", "--isolated", "--no-cache", "--exit-zero",
            "--output-format=json", "--select", ",".join(options.select),
        ]  # fmt: skip
        if options.ignore:
            argv += ["--ignore", ",".join(options.ignore)]
        report = tool.run_json(
            [*argv, "--", *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
        )
        return Outcome([self._finding(snapshot, item) for item in report or []])

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        code = item.get("code") or "syntax-error"
        category, severity = classify(code) if item.get("code") else (Category.BUG, Severity.HIGH)
        path = snapshot.relative(item["filename"])
        location, end = item["location"], item.get("end_location") or item["location"]
        fix = item.get("fix") or {}
        return Finding(
            analyzer=self.name,
            rule_id=code,
            title=item["message"].split("\n")[0][:200],
            message=item["message"],
            category=category,
            severity=severity,
            path=path,
            line=location["row"],
            column=location["column"],
            end_line=end["row"],
            end_column=end["column"],
            snippet=snapshot.line(path, location["row"]),
            suggestion=fix.get("message") or "",
            fix=unified_diff(snapshot, path, fix.get("edits") or []),
            links=(item["url"],) if item.get("url") else (),
        )


def unified_diff(snapshot: Snapshot, path: str, edits: list[dict[str, Any]]) -> str:
    """Ruff's edits (row/column ranges) applied to the file, as a unified diff."""
    if not edits:
        return ""
    before = snapshot.read_text(path)
    lines = before.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(location: dict[str, int]) -> int:
        row = min(location["row"], len(lines) + 1)
        return starts[row - 1] + location["column"] - 1

    after = before
    for edit in sorted(edits, key=lambda e: offset(e["location"]), reverse=True):
        start, stop = offset(edit["location"]), offset(edit["end_location"])
        after = after[:start] + (edit.get("content") or "") + after[stop:]
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(diff)
