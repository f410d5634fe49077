"""Security findings in Python code from bandit, with its CWE kept."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError

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

TestId = Annotated[str, Field(pattern=r"^B[0-9]{3}$")]


class BanditOptions(BaseModel):
    skips: list[TestId] = ["B101"]  # assert: test noise
    # Read from the project's [tool.bandit] by `configure`: folders it leaves out.
    exclude: list[Annotated[str, Field(max_length=500)]] = Field([], max_length=200)
    config_sha256: str | None = None


class _ProjectBandit(BaseModel):
    """What repolens takes of a project's `[tool.bandit]`."""

    skips: list[TestId] = Field([], max_length=200)
    exclude_dirs: list[Annotated[str, Field(max_length=500)]] = Field([], max_length=200)


_LEVELS = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_CONFIDENCE = {"HIGH": Confidence.HIGH, "MEDIUM": Confidence.MEDIUM, "LOW": Confidence.LOW}


class BanditAnalyzer:
    name: ClassVar[str] = "bandit"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[BanditOptions]] = BanditOptions
    batch_size: ClassVar[int | None] = 150

    @property
    def version(self) -> str:
        return tool.package_version("bandit")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "python"

    def configure(
        self, snapshot: Snapshot, options: BanditOptions
    ) -> tuple[BanditOptions, list[str]]:
        """OPTIONS with the project's `[tool.bandit]` skips and excluded folders."""
        text = documents.repository_text(snapshot.root, "pyproject.toml")
        if text is None or "[tool.bandit" not in text:
            return options, []
        try:
            section = documents.toml(text).get("tool", {}).get("bandit", {})
            project = _ProjectBandit.model_validate(section)
        except (documents.Unreadable, ValidationError) as exc:
            return options, [f"bandit: [tool.bandit] is not used: {str(exc).splitlines()[0]}"]
        excluded = [d.strip("./").rstrip("/") for d in project.exclude_dirs if d.strip("./")]
        update = {"skips": sorted({*options.skips, *project.skips}), "exclude": excluded,
                  "config_sha256": documents.digest(text)}  # fmt: skip
        return options.model_copy(update=update), []

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[BanditOptions]) -> Outcome:
        options = context.options
        if options.exclude:
            snapshot = snapshot.with_files(
                f for f in snapshot.files
                if not any(f.path == d or f.path.startswith(d + "/") for d in options.exclude)
            )  # fmt: skip
            if not snapshot.files:
                return Outcome([])
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
