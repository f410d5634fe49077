from __future__ import annotations

from pathlib import Path

from repolens import inventory
from repolens.analyzers.base import AnalyzerContext, Snapshot
from repolens.analyzers.builtin.plan import PlanAnalyzer, PlanOptions
from repolens.plan.model import PlanProgress


def plan_of(root: Path, files: dict[str, str], **options: list[str]) -> PlanProgress:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    found = inventory.take(root, sorted(files), 1_000_000)
    outcome = PlanAnalyzer().analyze(
        Snapshot(root, tuple(found.files)), AnalyzerContext(options=PlanOptions(**options))
    )
    assert isinstance(outcome.artifact, PlanProgress)
    return outcome.artifact


TASKS = "- [x] one\n- [ ] two\n"


def test_the_configured_path_comes_first(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"work/todo.md": TASKS, "plan.md": "- [ ] other\n"},
                   paths=["work/todo.md"])  # fmt: skip
    assert plan.files == ["work/todo.md"] and plan.counts.total == 2


def test_repolens_yml_plan_paths_come_next(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        {".repolens.yml": "plan:\n  paths: [docs/a.md, docs/b.md]\n", "docs/a.md": TASKS,
         "docs/b.md": "- [!] stuck\n", "ROADMAP.md": "- [ ] ignored\n"},
    )  # fmt: skip
    assert plan.files == ["docs/a.md", "docs/b.md"]
    assert (plan.counts.done, plan.counts.blocked) == (1, 1)


def test_conventional_names_are_found_in_order_whatever_their_case(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"Roadmap.md": TASKS, "docs/Plan.md": "- [x] first\n"})
    assert plan.files == ["docs/Plan.md"]


def test_the_plan_section_of_the_readme_is_the_last_resort(tmp_path: Path) -> None:
    readme = "# Tool\n\n- [ ] not a plan\n\n## Roadmap\n\n- [x] shipped\n- [ ] next\n\n## Licence\n"
    plan = plan_of(tmp_path, {"README.md": readme})
    assert [(t.title, t.line) for t in plan.tasks] == [("shipped", 7), ("next", 8)]


def test_a_missing_plan_is_a_warning_and_an_unknown_health(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {"main.py": "x = 1\n"})
    assert plan.health == "unknown" and plan.warnings == ["no plan file found"]


def test_a_broken_repolens_yml_is_a_warning(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, {".repolens.yml": "plan: [unclosed\n", "plan.md": TASKS})
    assert plan.counts.total == 2
    assert "not valid YAML" in plan.warnings[0]
