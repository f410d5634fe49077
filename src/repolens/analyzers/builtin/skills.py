"""The tech stack ("skills"): languages from the inventory, frameworks,
databases, test and build tools from manifests, devops from Dockerfiles,
compose and CI files, all through one curated table."""

from __future__ import annotations

from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, Field

from repolens.analyzers.base import AnalyzerContext, Outcome, Snapshot, SourceFile
from repolens.skills import catalog, manifests
from repolens.skills.catalog import SkillCategory
from repolens.skills.model import Skill, SkillSet


class SkillsOptions(BaseModel):
    min_language_share: float = Field(
        0.02, ge=0, le=1
    )  # below this share of lines a language is not a skill


class SkillsAnalyzer:
    name: ClassVar[str] = "skills"
    scope: ClassVar[Literal["file", "repository"]] = "repository"
    Options: ClassVar[type[SkillsOptions]] = SkillsOptions
    batch_size: ClassVar[int | None] = None
    version: str = "1"

    def applies_to(self, file: SourceFile) -> bool:
        return True

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[SkillsOptions]) -> Outcome:
        options = context.options
        found: dict[str, Skill] = {}
        warnings: list[str] = []

        def add(entry: tuple[str, SkillCategory] | None, confidence: float, where: str) -> None:
            if entry is None:
                return
            name, category = entry
            skill = found.setdefault(name, Skill(name=name, category=category,
                                                 confidence=confidence, evidence=[]))  # fmt: skip
            skill.confidence = max(skill.confidence, confidence)
            if where not in skill.evidence:
                skill.evidence.append(where)

        self._languages(snapshot, options, add)
        for file in snapshot.files:
            try:
                self._file(snapshot, file, add)
            except Exception as exc:  # one unreadable manifest must not hide the others
                warnings.append(f"could not read {file.path}: {type(exc).__name__}: {exc}")
        skills = sorted(found.values(), key=lambda s: (-s.confidence, s.category, s.name))
        return Outcome(artifact=SkillSet(skills=skills), warnings=warnings)

    def _languages(self, snapshot: Snapshot, options: SkillsOptions, add: _Add) -> None:
        code = [f for f in snapshot.files if f.language in catalog.LANGUAGE_NAMES]
        total = sum(f.lines for f in code) or 1
        lines: dict[str, int] = {}
        for f in code:
            lines[f.language] = lines.get(f.language, 0) + f.lines
        for language, count in lines.items():
            share = count / total
            if share >= options.min_language_share:
                name = catalog.LANGUAGE_NAMES[language]
                add((name, SkillCategory.LANGUAGE), round(min(1.0, 0.5 + share), 2),
                    f"{count} lines of {name}")  # fmt: skip

    def _file(self, snapshot: Snapshot, file: SourceFile, add: _Add) -> None:
        path = file.path
        reader = manifests.reader_for(path)
        if reader is not None:
            for name in reader(snapshot.read_text(path)):
                add(catalog.package(name), 0.9, path)
        elif manifests.is_dockerfile(path):
            add(("Docker", SkillCategory.DEVOPS), 0.9, path)
            for image in manifests.dockerfile_images(snapshot.read_text(path)):
                add(catalog.image(image), 0.7, path)
        elif manifests.is_compose(path):
            add(("Docker Compose", SkillCategory.DEVOPS), 0.9, path)
            for image in manifests.compose_images(snapshot.read_text(path)):
                add(catalog.image(image), 0.8, path)
        system = manifests.ci_system(path)
        if system is not None:
            add((system, SkillCategory.DEVOPS), 0.9, path)


class _Add(Protocol):
    def __call__(
        self, entry: tuple[str, SkillCategory] | None, confidence: float, where: str
    ) -> None: ...
