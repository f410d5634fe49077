"""Pattern-based findings from semgrep's engine, with rule files that ship
inside repolens (no registry, no login, no network).

The engine (`semgrep-core`, shipped in the semgrep wheel) is run directly on a
batch of files: it starts in a tenth of a second where the `semgrep` command
takes seconds, which is what makes a one-file rescan fast."""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pathspec
from pydantic import AfterValidator, BaseModel, Field

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
from repolens.errors import ToolError

# Our language name -> (the engine's name for it, the bundled rule file)
LANGUAGES = {
    "python": ("python", "python.yml"),
    "javascript": ("js", "javascript.yml"),
    "typescript": ("ts", "javascript.yml"),
    "go": ("go", "go.yml"),
    "java": ("java", "java.yml"),
}
_SEVERITY = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM, "INFO": Severity.LOW}
_CWE = re.compile(r"CWE-(\d+)")


def bundled_rules() -> Path:
    return Path(str(files("repolens.analyzers") / "rules"))


def engine() -> str:
    shipped = Path(str(files("semgrep") / "bin" / "semgrep-core"))
    return str(shipped) if shipped.exists() else tool.executable("semgrep-core")


def _relative(path: str) -> str:
    if path.startswith("/") or ".." in path.split("/"):
        raise ValueError("a rule file is a path inside the repository (relative, no ..)")
    return path


class SemgrepOptions(BaseModel):
    # Extra rule files of the repository's own (paths inside it), run beside the bundled ones.
    rules: list[Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_relative)]] = (
        Field([], max_length=10)
    )
    per_file_timeout_seconds: int = Field(30, ge=1, le=600)
    # The project's .semgrepignore (gitignore patterns), read by `configure`.
    ignore: list[Annotated[str, Field(max_length=500)]] = Field([], max_length=1000)


class SemgrepAnalyzer:
    name: ClassVar[str] = "semgrep"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[SemgrepOptions]] = SemgrepOptions
    batch_size: ClassVar[int | None] = 400

    @property
    def version(self) -> str:
        return tool.package_version("semgrep")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language in LANGUAGES

    def configure(
        self, snapshot: Snapshot, options: SemgrepOptions
    ) -> tuple[SemgrepOptions, list[str]]:
        """OPTIONS with the patterns of the project's `.semgrepignore`."""
        text = documents.repository_text(snapshot.root, ".semgrepignore")
        if text is None:
            return options, []
        lines = [line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith(("#", ":include"))]  # fmt: skip
        return options.model_copy(update={"ignore": lines[:1000]}), []

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[SemgrepOptions]) -> Outcome:
        options = context.options
        if options.ignore:
            ignored = pathspec.GitIgnoreSpec.from_lines(options.ignore)
            snapshot = snapshot.with_files(
                f for f in snapshot.files if not ignored.match_file(f.path)
            )
        groups: dict[str, list[SourceFile]] = defaultdict(list)
        for file in snapshot.files:
            groups[file.language].append(file)
        findings: list[Finding] = []
        warnings: list[str] = []
        for language, members in groups.items():
            code, bundled = LANGUAGES[language]
            for rules in [str(bundled_rules() / bundled), *_own(snapshot, options, warnings)]:
                report = self._run(snapshot, members, code, rules, options, context)
                findings += [self._finding(snapshot, item) for item in report.get("results", [])
                             if not item.get("extra", {}).get("is_ignored")]  # fmt: skip
                warnings += [f"semgrep: {e.get('message', e.get('type'))}"[:300]
                             for e in report.get("errors", [])]  # fmt: skip
        return Outcome(findings, warnings=warnings)

    def _run(
        self,
        snapshot: Snapshot,
        members: list[SourceFile],
        language: str,
        rules: str,
        options: SemgrepOptions,
        context: AnalyzerContext[SemgrepOptions],
    ) -> dict[str, Any]:
        targets = [
            ["CodeTarget", {"path": {"fpath": "./" + f.path, "ppath": "/" + f.path},
                            "analyzer": language, "products": ["sast"]}]
            for f in members
        ]  # fmt: skip
        with tempfile.NamedTemporaryFile("w", suffix=".json") as listing:
            json.dump(["Targets", targets], listing)
            listing.flush()
            output = tool.run(
                [engine(), "-rules", rules, "-targets", listing.name, "-json", "-j", "1",
                 "-timeout", str(options.per_file_timeout_seconds)],
                cwd=snapshot.root,
                timeout=context.timeout_seconds,
                env=context.environment,
            )  # fmt: skip
        # The engine prints a progress dot per file before its JSON document.
        document = output[output.find("{") :] if "{" in output else ""
        try:
            report: dict[str, Any] = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ToolError("semgrep-core printed output that is not JSON") from exc
        fatal = [e for e in report.get("errors", []) if e.get("error_type") == "Fatal error"]
        if fatal:
            raise ToolError(f"semgrep-core: {fatal[0].get('message', '')[:300]}")
        return report

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


def _own(snapshot: Snapshot, options: SemgrepOptions, warnings: list[str]) -> list[str]:
    """The configured rule files that lie inside the repository; the others are
    skipped with a warning (a rule file elsewhere would be a file of the server)."""
    root = snapshot.root.resolve()
    inside = []
    for path in options.rules:
        resolved = (root / path).resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            inside.append(str(resolved))
        else:
            warnings.append(f"semgrep: rule file {path[:100]!r} is not a file of the repository")
    return inside
