"""Security findings in Python code from bandit, with its CWE kept."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

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


class BanditOptions(BaseModel):
    skips: list[Annotated[str, Field(pattern=r"^B[0-9]{3}$")]] = ["B101"]  # assert: test noise


_LEVELS = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_CONFIDENCE = {"HIGH": Confidence.HIGH, "MEDIUM": Confidence.MEDIUM, "LOW": Confidence.LOW}


class BanditAnalyzer:
    name: ClassVar[str] = "bandit"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[BaseModel]] = BanditOptions
    batch_size: ClassVar[int | None] = 150

    @property
    def version(self) -> str:
        return tool.package_version("bandit")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "python"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext) -> Outcome:
        options = context.options
        assert isinstance(options, BanditOptions)
        argv = [tool.executable("bandit"), "--format", "json", "--quiet"]
        if options.skips:
            argv += ["--skip", ",".join(options.skips)]
        report = tool.run_json(
            [*argv, *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=(0, 1),
        )
        report = report or {}
        findings = [self._finding(snapshot, item) for item in report.get("results", [])]
        warnings = [
            f"bandit could not analyse {snapshot.relative(e['filename'])}: {e['reason']}"
            for e in report.get("errors", [])
        ]
        return Outcome(findings, warnings=warnings)

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        path = snapshot.relative(item["filename"])
        line_range = item.get("line_range") or [item["line_number"]]
        cwe = (item.get("issue_cwe") or {}).get("id") or None
        return Finding(
            analyzer=self.name,
            rule_id=item["test_id"],
            title=item["test_name"].replace("_", " "),
            message=item["issue_text"],
            category=Category.SECURITY,
            severity=_LEVELS.get(item["issue_severity"], Severity.LOW),
            confidence=_CONFIDENCE.get(item["issue_confidence"], Confidence.MEDIUM),
            path=path,
            line=item["line_number"],
            column=(item.get("col_offset") or 0) + 1,
            end_line=max(line_range),
            snippet=snapshot.line(path, item["line_number"]),
            cwe=int(cwe) if cwe else None,
            links=(item["more_info"],) if item.get("more_info") else (),
        )
