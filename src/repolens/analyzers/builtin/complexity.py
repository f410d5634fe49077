"""Functions that are too complex, too long or take too many parameters,
measured by lizard in any of the many languages it reads."""

from __future__ import annotations

import csv
import io
from typing import ClassVar, Literal

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

LANGUAGES = frozenset(
    {"c", "cpp", "csharp", "java", "javascript", "typescript", "objective-c", "swift",
     "python", "ruby", "php", "scala", "go", "lua", "rust", "kotlin", "erlang", "vue"}
)  # fmt: skip


class ComplexityOptions(BaseModel):
    ccn_medium: int = Field(15, ge=1)
    ccn_high: int = Field(25, ge=1)
    max_function_lines: int = Field(150, ge=1)
    max_parameters: int = Field(8, ge=1)


class ComplexityAnalyzer:
    name: ClassVar[str] = "complexity"
    scope: ClassVar[Literal["file", "repository"]] = "file"
    Options: ClassVar[type[ComplexityOptions]] = ComplexityOptions
    batch_size: ClassVar[int | None] = 300

    @property
    def version(self) -> str:
        return tool.package_version("lizard")

    def applies_to(self, file: SourceFile) -> bool:
        return file.language in LANGUAGES

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[ComplexityOptions]) -> Outcome:
        options = context.options
        output = tool.run(
            [tool.executable("lizard"), "--csv", *snapshot.arguments()],
            cwd=snapshot.root,
            timeout=context.timeout_seconds,
            env=context.environment,
        )
        findings: list[Finding] = []
        for row in csv.reader(io.StringIO(output)):
            if len(row) >= 11 and row[0].isdigit():
                findings += self._judge(snapshot, row, options)
        return Outcome(findings)

    def _judge(
        self, snapshot: Snapshot, row: list[str], options: ComplexityOptions
    ) -> list[Finding]:
        nloc, ccn, params = int(row[0]), int(row[1]), int(row[3])
        path, function, start, end = snapshot.relative(row[6]), row[7], int(row[9]), int(row[10])
        found = []

        def add(rule: str, title: str, message: str, severity: Severity) -> None:
            found.append(
                Finding(
                    analyzer=self.name,
                    rule_id=rule,
                    title=title,
                    message=message,
                    category=Category.COMPLEXITY,
                    severity=severity,
                    confidence=Confidence.HIGH,
                    path=path,
                    line=start,
                    end_line=end,
                    snippet=snapshot.line(path, start),
                    suggestion="Split it into smaller functions with one job each.",
                )
            )

        if ccn > options.ccn_medium:
            # A risk to maintain, never ranked with a hole an attacker can use.
            severity = Severity.MEDIUM if ccn > options.ccn_high else Severity.LOW
            add(
                "cyclomatic-complexity",
                f"{function} is too complex",
                f"{function} has a cyclomatic complexity of {ccn} "
                f"(threshold {options.ccn_medium}).",
                severity,
            )
        if nloc > options.max_function_lines:
            add(
                "long-function",
                f"{function} is too long",
                f"{function} has {nloc} lines of code (threshold {options.max_function_lines}).",
                Severity.LOW,
            )
        if params > options.max_parameters:
            add(
                "too-many-parameters",
                f"{function} takes too many parameters",
                f"{function} takes {params} parameters (threshold {options.max_parameters}).",
                Severity.LOW,
            )
        return found
