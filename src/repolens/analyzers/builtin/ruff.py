"""Quality and bug findings from ruff, with its fixes kept as unified diffs.

The project's own ruff configuration comes first (`.ruff.toml`, `ruff.toml`,
or `[tool.ruff]` in `pyproject.toml` at the top): its rules, target version and
exclusions, as the project's CI sees them. Without one, repolens's rule set
runs, aimed at the Python the project says it supports (`requires-python`)."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

from repolens import documents
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
    # Without the project's own configuration: bugs only. Style families (pycodestyle,
    # pyupgrade, simplify) are a project's choice, and judging a project by rules it
    # does not use is noise. Security rules are bandit's job.
    select: list[RuleCode] = ["E9", "F", "B", "PLE"]
    ignore: list[RuleCode] = []
    # Read from the repository by `configure`, whatever was given.
    config: str | None = None  # the project's ruff configuration file
    config_sha256: str | None = None  # of it and what it extends: part of the cache key
    target_version: Annotated[str | None, Field(pattern=r"^py3[0-9]{1,2}$")] = None


CONFIGS = (".ruff.toml", "ruff.toml", "pyproject.toml")  # ruff's own order


# Longest prefix wins. What a rule finds decides: a likely bug weighs, a matter
# of taste does not (bugbear's opinions included).
_RULES: dict[str, tuple[Category, Severity]] = {
    "E9": (Category.BUG, Severity.HIGH),
    "F8": (Category.BUG, Severity.HIGH),
    "F63": (Category.BUG, Severity.HIGH),
    "F7": (Category.BUG, Severity.HIGH),
    "F401": (Category.MAINTAINABILITY, Severity.INFO),  # often a re-export
    "F403": (Category.MAINTAINABILITY, Severity.INFO),
    "F405": (Category.MAINTAINABILITY, Severity.INFO),
    "F811": (Category.MAINTAINABILITY, Severity.LOW),
    "F841": (Category.MAINTAINABILITY, Severity.LOW),
    "B006": (Category.BUG, Severity.MEDIUM),  # mutable default argument
    "B023": (Category.BUG, Severity.MEDIUM),  # loop variable caught by a closure
    "B904": (Category.MAINTAINABILITY, Severity.INFO),
    "B028": (Category.MAINTAINABILITY, Severity.INFO),
    "B905": (Category.MAINTAINABILITY, Severity.INFO),
    "B007": (Category.MAINTAINABILITY, Severity.INFO),
    "B008": (Category.MAINTAINABILITY, Severity.LOW),
    "B009": (Category.STYLE, Severity.INFO),
    "B010": (Category.STYLE, Severity.INFO),
    "B011": (Category.BUG, Severity.LOW),
    "B017": (Category.MAINTAINABILITY, Severity.LOW),
    "B019": (Category.PERFORMANCE, Severity.LOW),
    "B024": (Category.STYLE, Severity.INFO),
    "B026": (Category.STYLE, Severity.INFO),
    "B027": (Category.STYLE, Severity.INFO),
    "F": (Category.BUG, Severity.MEDIUM),
    "PLE": (Category.BUG, Severity.HIGH),
    # Static checks of what only runs at run time: often wrong about dynamic code.
    "PLE0604": (Category.BUG, Severity.LOW),  # __all__ with a non-string
    "PLE0605": (Category.BUG, Severity.LOW),  # __all__ built by an expression
    "PLE0704": (Category.BUG, Severity.LOW),  # bare raise in a helper called from except
    "PLE2502": (Category.SECURITY, Severity.MEDIUM),  # bidirectional control characters
    "B": (Category.BUG, Severity.LOW),
    "S": (Category.SECURITY, Severity.MEDIUM),
    "E": (Category.STYLE, Severity.INFO),
    "E7": (Category.STYLE, Severity.LOW),
    "W": (Category.STYLE, Severity.INFO),
    "UP": (Category.MAINTAINABILITY, Severity.INFO),
    "SIM": (Category.MAINTAINABILITY, Severity.INFO),
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
    Options: ClassVar[type[RuffOptions]] = RuffOptions
    batch_size: ClassVar[int | None] = 400

    @property
    def version(self) -> str:
        return tool.package_version("ruff")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "python"

    def configure(self, snapshot: Snapshot, options: RuffOptions) -> tuple[RuffOptions, list[str]]:
        """OPTIONS with the project's configuration found in SNAPSHOT."""
        warnings: list[str] = []
        for name in CONFIGS:
            data = _toml(snapshot.root, name, warnings)
            if data is None:
                continue
            if name != "pyproject.toml" or isinstance(data.get("tool", {}).get("ruff"), dict):
                chain = _chain(snapshot.root, name, data, warnings)
                if chain is None:
                    break  # unusable: repolens's defaults, said in a warning
                return options.model_copy(update={"config": name, "config_sha256": chain}), []
            target = _target(data.get("project", {}).get("requires-python"))
            return options.model_copy(update={"target_version": target}), warnings
        return options, warnings

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[RuffOptions]) -> Outcome:
        options = context.options
        argv = [tool.executable("ruff"), "check", "--no-cache", "--exit-zero",
                "--output-format=json"]  # fmt: skip
        if options.config:
            argv += ["--config", str(snapshot.root / options.config), "--force-exclude"]
        else:
            argv += ["--isolated", "--select", ",".join(options.select)]
            if options.ignore:
                argv += ["--ignore", ",".join(options.ignore)]
            if options.target_version:
                argv += ["--target-version", options.target_version]
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


def _toml(root: Path, name: str, warnings: list[str]) -> dict[str, Any] | None:
    text = documents.repository_text(root, name)
    if text is None:
        return None
    try:
        return documents.toml(text)
    except documents.Unreadable as exc:
        warnings.append(f"ruff: {name} is not used: {exc}")
        return None


def _chain(root: Path, name: str, data: dict[str, Any], warnings: list[str]) -> str | None:
    """A digest of the configuration NAME and the files it extends, all of which
    must be files of the repository; None (with a warning) when one is not."""
    digest = hashlib.sha256()
    for _ in range(5):
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
        section = data.get("tool", {}).get("ruff", {}) if name.endswith("pyproject.toml") else data
        extended = section.get("extend") if isinstance(section, dict) else None
        if not extended:
            return digest.hexdigest()[:16]
        target = (root / name).parent / str(extended)
        if not target.resolve().is_relative_to(root.resolve()) or target.is_symlink():
            warnings.append(f"ruff: {name} extends a file outside the repository; "
                            "repolens's rules are used instead")  # fmt: skip
            return None
        name = target.resolve().relative_to(root.resolve()).as_posix()
        found = _toml(root, name, warnings)
        if found is None:
            return None
        data = found
    warnings.append("ruff: the configuration extends too deep; repolens's rules are used")
    return None


def _target(requires: Any) -> str | None:
    """The oldest Python a `requires-python` admits, as ruff names it."""
    match = re.search(r">=?\s*3\.(\d{1,2})", requires) if isinstance(requires, str) else None
    return f"py3{match.group(1)}" if match else None


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
