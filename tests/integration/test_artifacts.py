"""The report takes the plan and the skills from the analyzers of those names,
as its own types, whoever made them."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from repolens import scan
from repolens.analyzers.base import AnalyzerContext, NoOptions, Outcome, Snapshot
from repolens.analyzers.registry import Registry
from repolens.settings import Settings
from repolens.skills.catalog import SkillCategory
from repolens.skills.model import Skill, SkillSet
from tests.conftest import Repo
from tests.unit.test_runner import WholeRepository

PYTHON = Skill(name="Python", category=SkillCategory.LANGUAGE, confidence=1.0, evidence=["x"])


class StackAnalyzer(WholeRepository):
    """Says the project is Python, whatever it holds."""

    name: ClassVar[str] = "stack"

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext[NoOptions]) -> Outcome:
        return Outcome(artifact=SkillSet(skills=[PYTHON]))


class NamedSkills(StackAnalyzer):
    name: ClassVar[str] = "skills"


class NamedPlan(StackAnalyzer):
    name: ClassVar[str] = "plan"


def scanned(make_repo: Callable[..., Repo], settings: Settings, registry: Registry) -> scan.Report:
    repo = make_repo()
    repo.commit({"app.py": "x = 1\n"})
    return scan.run(scan.ScanRequest(str(repo.path)), settings, registry=registry)


def test_the_skills_are_what_the_analyzer_named_skills_made(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    report = scanned(make_repo, settings, Registry({"skills": NamedSkills}))
    assert report.skills == SkillSet(skills=[PYTHON])
    assert report.plan is None


def test_an_artifact_under_another_name_is_not_taken_for_the_skills(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    report = scanned(make_repo, settings, Registry({"stack": StackAnalyzer}))
    assert report.skills is None


def test_a_plan_that_is_not_a_plan_is_left_out_with_a_warning(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    report = scanned(make_repo, settings, Registry({"plan": NamedPlan}))
    assert report.plan is None
    assert [w for w in report.warnings if "artifact" in w] == [
        "analyzer plan's artifact is not a PlanProgress (6 problems); the report leaves it out"
    ]
