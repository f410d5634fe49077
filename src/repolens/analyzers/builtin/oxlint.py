"""JavaScript and TypeScript: oxlint (a real linter, shipped as a wheel; no Node
needed). The project's `.oxlintrc.json` at the top is used when it is plain
configuration; one that asks for JavaScript plugins (code it would run) is
refused with a warning and oxlint's defaults run instead."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

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

CONFIG = ".oxlintrc.json"
LANGUAGES = frozenset({"javascript", "typescript", "vue"})
# Rules whose finding is a weakness, not a slip: (category, severity, CWE).
WEAKNESSES: dict[str, tuple[Category, Severity, int]] = {
    "eslint(no-eval)": (Category.SECURITY, Severity.HIGH, 95),
    "eslint(no-implied-eval)": (Category.SECURITY, Severity.HIGH, 95),
    "eslint(no-new-func)": (Category.SECURITY, Severity.HIGH, 95),
    "eslint(no-script-url)": (Category.SECURITY, Severity.MEDIUM, 79),
}


class OxlintOptions(BaseModel):
    config: bool = False  # set by `configure`: the project's .oxlintrc.json is used
    config_sha256: str | None = None


class OxlintAnalyzer:
    name: ClassVar[str] = "oxlint"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[OxlintOptions]] = OxlintOptions
    batch_size: ClassVar[int | None] = 500

    @property
    def version(self) -> str:
        return tool.package_version("oxlint")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language in LANGUAGES

    def configure(
        self, snapshot: Snapshot, options: OxlintOptions
    ) -> tuple[OxlintOptions, list[str]]:
        text = documents.repository_text(snapshot.root, CONFIG)
        if text is None:
            return options, []
        try:
            data = documents.json(_without_comments(text))
        except documents.Unreadable as exc:
            return options, [f"oxlint: {CONFIG} is not used: {exc}"]
        if not isinstance(data, dict) or "jsPlugins" in data or "extends" in data:
            return options, [
                f"oxlint: {CONFIG} is not used: JavaScript plugins and extends "
                "would load code or files from elsewhere"
            ]
        update = {"config": True, "config_sha256": documents.digest(text)}
        return options.model_copy(update=update), []

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[OxlintOptions]) -> Outcome:
        options = context.options
        argv = [tool.executable("oxlint"), "--format", "json", "--disable-nested-config"]
        if options.config:
            argv += ["--config", str(snapshot.root / CONFIG)]
        report = tool.run_json(
            [*argv, *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=(0, 1),
        )
        return Outcome(
            [self._finding(snapshot, item) for item in (report or {}).get("diagnostics", [])]
        )

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        code = str(item.get("code") or "oxlint")
        span = (item.get("labels") or [{}])[0].get("span", {})
        path = snapshot.relative(item["filename"])
        category, severity, cwe = WEAKNESSES.get(
            code,
            (
                Category.BUG,
                Severity.MEDIUM if item.get("severity") == "error" else Severity.LOW,
                None,
            ),
        )
        return Finding(
            analyzer=self.name,
            rule_id=code,
            title=item["message"][:200],
            message=item["message"] + (f" {item['help']}" if item.get("help") else ""),
            category=category,
            severity=severity,
            path=path,
            line=span.get("line"),
            column=span.get("column"),
            snippet=snapshot.line(path, span.get("line")),
            cwe=cwe,
            links=(item["url"],) if item.get("url") else (),
        )


def _without_comments(text: str) -> str:
    """JSONC as JSON: whole-line `//` comments dropped (the form configs use)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
