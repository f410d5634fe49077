"""What a project's tech stack is: skills, each with a category, how sure we are
and where it showed."""

from __future__ import annotations

from pydantic import BaseModel

from repolens.skills.catalog import SkillCategory


class Skill(BaseModel):
    name: str
    category: SkillCategory
    confidence: float
    evidence: list[str]


class SkillSet(BaseModel):
    """The skills artifact of a scan, strongest first."""

    skills: list[Skill]

    def by_category(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for skill in self.skills:
            grouped.setdefault(skill.category.value, []).append(skill.name)
        return grouped
