"""Plan progress: find the project's plan or roadmap and read its checklists.

Where the plan is: the configured path, then the `plan` paths of
`.repolens.yml`, then docs/plan.md, plan.md, ROADMAP.md, and last the plan
section of README.md."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from repolens import config
from repolens.analyzers.base import AnalyzerContext, Outcome, Snapshot, SourceFile
from repolens.plan import parser, progress

CONVENTIONAL = ("docs/plan.md", "plan.md", "roadmap.md", "docs/roadmap.md")
_README_SECTION = re.compile(r"\b(plan|roadmap|to ?do|milestones?)\b", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


class PlanOptions(BaseModel):
    paths: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field([], max_length=20)


class PlanAnalyzer:
    name: ClassVar[str] = "plan"
    scope: ClassVar[Literal["file", "repository"]] = "repository"
    Options: ClassVar[type[PlanOptions]] = PlanOptions
    batch_size: ClassVar[int | None] = None
    version: str = "1"

    def applies_to(self, file: SourceFile) -> bool:
        return file.language == "markdown"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[PlanOptions]) -> Outcome:
        options = context.options
        warnings: list[str] = []
        documents: dict[str, parser.Document] = {}
        for path in self._configured(snapshot, options, warnings) or self._conventional(snapshot):
            documents[path] = parser.parse(snapshot.read_text(path), path)
        if not documents:
            readme = _find(snapshot, "readme.md")
            if readme is not None:
                documents.update(self._readme_section(snapshot, readme))
        if not documents:
            warnings.append("no plan file found")
        return Outcome(artifact=progress.summarise(documents, warnings), warnings=warnings)

    def _configured(
        self, snapshot: Snapshot, options: PlanOptions, warnings: list[str]
    ) -> list[str]:
        wanted = options.paths or _paths_from_config(snapshot, warnings)
        found = []
        for path in wanted:
            match = _find(snapshot, path)
            if match is None:
                warnings.append(f"plan file {path} not found")
            else:
                found.append(match)
        return found

    def _conventional(self, snapshot: Snapshot) -> list[str]:
        for candidate in CONVENTIONAL:
            match = _find(snapshot, candidate)
            if match is not None:
                return [match]
        return []

    def _readme_section(self, snapshot: Snapshot, path: str) -> dict[str, parser.Document]:
        lines = snapshot.read_text(path).splitlines()
        start = level = None
        for number, line in enumerate(lines):
            heading = _HEADING.match(line)
            if heading is None:
                continue
            depth = len(heading.group(1))
            if start is None and _README_SECTION.search(heading.group(2)):
                start, level = number, depth
            elif start is not None and level is not None and depth <= level:
                return {path: parser.parse("\n".join(lines[start:number]), path, start + 1)}
        if start is None:
            return {}
        return {path: parser.parse("\n".join(lines[start:]), path, start + 1)}


def _find(snapshot: Snapshot, wanted: str) -> str | None:
    """The snapshot's path that is WANTED, ignoring case."""
    wanted = wanted.strip("/").lower()
    return next((f.path for f in snapshot.files if f.path.lower() == wanted), None)


def _paths_from_config(snapshot: Snapshot, warnings: list[str]) -> list[str]:
    found = next((path for name in config.NAMES if (path := _find(snapshot, name))), None)
    if found is None:
        return []
    settings, said = config.read(snapshot.read_text(found), found)
    warnings.extend(said)
    return list(settings.plan.paths)
