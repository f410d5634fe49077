"""From parsed tasks to progress: counts, percentage, phases and a health colour.

Health rules (documented in docs/plan.md):
- unknown: the plan has no tasks;
- red: blocked tasks are 10% or more of all tasks, or under 25% is done;
- green: 75% or more is done and nothing is blocked;
- yellow: everything else."""

from __future__ import annotations

from collections.abc import Iterable

from repolens.plan.model import Counts, Health, Phase, PlanProgress, PlanTask
from repolens.plan.parser import Document


def count(tasks: Iterable[PlanTask]) -> Counts:
    counts = Counts()
    for task in tasks:
        counts.total += 1
        setattr(counts, task.status.value, getattr(counts, task.status.value) + 1)
    return counts


def health(counts: Counts) -> Health:
    if counts.total == 0:
        return "unknown"
    if counts.blocked * 10 >= counts.total or counts.percent < 25:
        return "red"
    if counts.percent >= 75 and counts.blocked == 0:
        return "green"
    return "yellow"


def summarise(documents: dict[str, Document], warnings: list[str]) -> PlanProgress:
    tasks = [task for document in documents.values() for task in document.tasks]
    counts = count(tasks)
    return PlanProgress(
        files=list(documents),
        tasks=tasks,
        counts=counts,
        percent=counts.percent,
        health=health(counts),
        phases=[phase for document in documents.values() for phase in _phases(document)],
        warnings=warnings,
    )


def _phases(document: Document) -> list[Phase]:
    phases = []
    for heading in document.headings:
        if heading.level != document.phase_level:
            continue
        tasks = [t for t in document.tasks if t.phase == heading.title and t.line > heading.line]
        if not tasks and heading.declared is None:
            continue
        counts = count(tasks)
        phases.append(
            Phase(
                name=heading.title,
                line=heading.line,
                declared_status=heading.declared,
                counts=counts,
                percent=counts.percent,
            )
        )
    return phases
