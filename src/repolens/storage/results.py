"""Storing what a scan found for a run, against the project's previous run.

Storing is idempotent: a run's results are replaced, never appended, so a run
that a worker retried after a crash is stored exactly once. Each finding is
`new` or `existing` by its fingerprint in the previous completed run, and what
that run had and this one has not is stored again as `fixed`, when the analyzer
that found it ran to completion this time; otherwise it stays `existing`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from repolens import fingerprints, scoring
from repolens.analyzers.base import Category, Finding, Severity
from repolens.reports.model import Report
from repolens.storage import models

RESULT_TABLES = (models.Finding, models.Step, models.Skill, models.PlanSnapshot)


def previous_run(session: Session, run: models.Run) -> models.Run | None:
    """What RUN's findings are new, existing or fixed against: the project's
    latest completed run before it that is not a pull request's; for a pull
    request, the latest of its base commit, else of its base branch, when there
    is one."""
    Run = models.Run
    earlier = (
        select(Run)
        .where(Run.project_id == run.project_id, Run.status == "completed", Run.id < run.id,
               Run.pull_request.is_(None))
        .order_by(Run.id.desc())
        .limit(1)
    )  # fmt: skip
    if run.pull_request is not None:
        base_branch = (run.origin or {}).get("base_branch")
        wanted = [Run.commit_sha == run.base_commit] if run.base_commit else []
        wanted += [Run.ref == base_branch] if base_branch else []
        for same in wanted:
            at_base = session.scalar(earlier.where(same))
            if at_base is not None:
                return at_base
    return session.scalar(earlier)


BRIEF = ("fingerprint", "analyzer", "rule_id", "severity", "category", "title", "path", "line")


def record(session: Session, run: models.Run, report: Report) -> list[dict[str, Any]]:
    """Store REPORT as RUN's results; returns the new findings, briefly (for events)."""
    for table in RESULT_TABLES:
        session.execute(delete(table).where(table.run_id == run.id))
    before = previous_run(session, run)
    known: dict[str, models.Finding] = {}
    if before is not None:
        rows = session.scalars(
            select(models.Finding).where(
                models.Finding.run_id == before.id, models.Finding.state != "fixed"
            )
        )
        known = _as_now(list(rows), report.renamed)
    current = {f.fingerprint for f in report.findings}
    new: list[dict[str, Any]] = []
    for finding in report.findings:
        data = finding.to_dict()
        del data["state"]  # the service judges against the project's previous run
        state = "existing" if finding.fingerprint in known else "new"
        if state == "new":
            new.append({key: data.get(key) for key in BRIEF})
        triage = known[finding.fingerprint].triage if state == "existing" else "open"
        session.add(models.Finding(run_id=run.id, project_id=run.project_id, state=state,
                                   triage=triage, **data))  # fmt: skip
    # Only an analyzer that ran to completion can say a finding of its is gone.
    completed = {step.analyzer for step in report.steps if step.status == "completed"}
    gone = {fingerprint: old for fingerprint, old in known.items() if fingerprint not in current}
    for old in gone.values():
        session.add(_carried(old, run, "fixed" if old.analyzer in completed else "existing"))
    fixed = sum(old.analyzer in completed for old in gone.values())
    _steps(session, run, report)
    _plan(session, run, report)
    _skills(session, run, report)
    run.commit_sha = report.target.commit or run.commit_sha
    run.summary = {
        "findings": len(report.findings),
        "by_severity": report.score.by_severity,
        "score": report.score.score,
        "grade": report.score.grade,
        "files": report.inventory.files,
        "lines": report.inventory.lines,
        "new": len(current - set(known)),
        "fixed": fixed,
        "scored_lines": report.coverage.lines if report.coverage else report.inventory.lines,
    }
    session.flush()
    rescore(session, run)
    return new


DISMISSED = ("ignored", "false_positive")  # triage that takes a finding out of the score


def rescore(session: Session, run: models.Run) -> None:
    """RUN's score again, over its production findings that nobody dismissed:
    a finding triaged as ignored or a false positive (now, or in an earlier run,
    by fingerprint) no longer weighs on it."""
    rows = session.scalars(
        select(models.Finding).where(
            models.Finding.run_id == run.id,
            models.Finding.state != "fixed",
            models.Finding.role == "source",
            models.Finding.triage.not_in(DISMISSED),
        )
    )
    counted = [_scored(row) for row in rows]
    score = scoring.score(counted, int(run.summary.get("scored_lines", 0)))
    run.summary = {**run.summary, "score": score.score, "grade": score.grade,
                   "by_severity": score.by_severity}  # fmt: skip


def _as_now(rows: list[models.Finding], renamed: dict[str, str]) -> dict[str, models.Finding]:
    """The previous run's findings by the fingerprint they have now: those in a
    file renamed since are fingerprinted under its new name (as `fingerprints`
    would, ordinal and all), so a rename is neither fixed nor new."""
    ordered = sorted(rows, key=lambda r: (r.path, r.line or 0, r.column or 0, r.analyzer,
                                          r.rule_id, r.message))  # fmt: skip
    seen: Counter[tuple[str, ...]] = Counter()
    known = {}
    for row in ordered:
        anchor = " ".join((row.snippet or row.message).split())
        key = (row.analyzer, row.rule_id, row.path, anchor)
        mark = fingerprints.Mark(*key, seen[key])
        seen[key] += 1
        now = (
            mark.moved_to(renamed[row.path]).fingerprint if row.path in renamed else row.fingerprint
        )
        known[now] = row
    return known


def _carried(old: models.Finding, run: models.Run, state: str) -> models.Finding:
    """OLD into RUN as STATE: fixed, or (its analyzer did not finish) as it was."""
    columns = {c.key: getattr(old, c.key) for c in models.Finding.__table__.columns}
    columns.update(id=None, run_id=run.id, state=state)
    return models.Finding(**columns)


def _steps(session: Session, run: models.Run, report: Report) -> None:
    for step in report.steps:
        session.add(
            models.Step(
                run_id=run.id,
                name=step.analyzer,
                status=step.status,
                version=step.version,
                error=step.error,
                findings=step.findings,
                files_analyzed=step.files_analyzed,
                files_cached=step.files_cached,
                seconds=step.seconds,
                warnings=step.warnings,
            )
        )


def _plan(session: Session, run: models.Run, report: Report) -> None:
    plan = report.plan
    if plan is None:
        return
    counts = plan.counts
    session.add(
        models.PlanSnapshot(
            run_id=run.id,
            project_id=run.project_id,
            total=counts.total,
            todo=counts.todo,
            in_progress=counts.in_progress,
            done=counts.done,
            blocked=counts.blocked,
            percent=plan.percent,
            health=plan.health,
        )
    )
    existing = {
        row.task_key: row
        for row in session.scalars(
            select(models.PlanTask).where(models.PlanTask.project_id == run.project_id)
        )
    }
    for task in plan.tasks:
        row = existing.get(task.id)
        if row is None:
            row = models.PlanTask(project_id=run.project_id, task_key=task.id,
                                  first_seen_run_id=run.id)  # fmt: skip
            session.add(row)
        row.title, row.status, row.file, row.line = (
            task.title,
            task.status.value,
            task.file,
            task.line,
        )
        row.section, row.phase, row.priority = task.section, task.phase, task.priority
        row.last_run_id = run.id


def _skills(session: Session, run: models.Run, report: Report) -> None:
    for skill in report.skills.skills if report.skills else []:
        session.add(
            models.Skill(
                run_id=run.id,
                project_id=run.project_id,
                name=skill.name,
                category=skill.category.value,
                confidence=skill.confidence,
                evidence=skill.evidence,
            )
        )


def _scored(row: models.Finding) -> Finding:
    """What the score needs of a stored finding."""
    return Finding(analyzer=row.analyzer, rule_id=row.rule_id, title="", message="",
                   category=Category(row.category), severity=Severity(row.severity),
                   path=row.path)  # fmt: skip
