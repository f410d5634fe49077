"""GitHub Actions workflows: zizmor (shipped as a wheel), offline (no audit
that needs the network or a token). It reads the project's `zizmor.yml`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from repolens.analyzers import tool
from repolens.analyzers.base import (
    AnalyzerContext,
    Category,
    Confidence,
    Finding,
    NoOptions,
    Outcome,
    Severity,
    Snapshot,
    SourceFile,
)

SEVERITIES = {
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Low": Severity.LOW,
    "Informational": Severity.INFO,
    "Unknown": Severity.LOW,
}
CONFIDENCES = {"High": Confidence.HIGH, "Medium": Confidence.MEDIUM, "Low": Confidence.LOW}
# zizmor's own severity, where a maintainer would rank the finding lower: a tag
# such as actions/checkout@v4 is how most well-kept projects pin actions.
LOWER = {"unpinned-uses": Severity.LOW}
CWES = {
    "template-injection": 94,
    "dangerous-triggers": 829,
    "unpinned-uses": 829,
    "excessive-permissions": 250,
    "artipacked": 522,
    "cache-poisoning": 349,
    "hardcoded-container-credentials": 798,
    "secrets-inherit": 200,
    "overprovisioned-secrets": 200,
    "self-hosted-runner": 250,
}


class ZizmorAnalyzer:
    name: ClassVar[str] = "zizmor"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[NoOptions]] = NoOptions
    batch_size: ClassVar[int | None] = 200

    @property
    def version(self) -> str:
        return tool.package_version("zizmor")

    def applies_to(self, file: SourceFile) -> bool:
        return file.path.startswith(".github/workflows/") and file.language == "yaml"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        report = tool.run_json(
            [
                tool.executable("zizmor"),
                "--offline",
                "--format",
                "json",
                "--no-progress",
                *snapshot.arguments(),
            ],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=tuple(range(0, 16)),
        )
        return Outcome(
            [self._finding(snapshot, item) for item in report or [] if not item.get("ignored")]
        )

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        ident, judged = str(item["ident"]), item.get("determinations", {})
        where = item["locations"][0]
        path = snapshot.relative(where["symbolic"]["key"]["Local"]["verbatim_path"])
        start = where["concrete"]["location"]["start_point"]
        line = int(start["row"]) + 1
        note = where["symbolic"].get("annotation") or ""
        return Finding(
            analyzer=self.name,
            rule_id=ident,
            title=str(item["desc"])[:200],
            message=f"{item['desc']}: {note}" if note else str(item["desc"]),
            category=Category.SECURITY,
            severity=SEVERITIES.get(judged.get("severity"), Severity.LOW),
            confidence=CONFIDENCES.get(judged.get("confidence"), Confidence.MEDIUM),
            path=path,
            line=line,
            column=int(start["column"]) + 1,
            snippet=snapshot.line(path, line),
            cwe=CWES.get(ident),
            links=(item["url"],) if item.get("url") else (),
        )
