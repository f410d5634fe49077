"""Storing scan results: new, existing and fixed findings, idempotent re-stores, the plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from repolens import fingerprints, scoring
from repolens.analyzers.base import Category, Finding, Severity
from repolens.jobs import lifecycle
from repolens.plan import progress
from repolens.plan.parser import parse
from repolens.reports.model import InventoryReport, Report, StepReport, Target
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects, results, runs
from tests.integration.databases import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    with database_url(request.param, tmp_path) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        engine = db.engine(settings)
        with db.sessions(engine)() as session:
            yield session
        engine.dispose()


def finding(rule: str, snippet: str) -> Finding:
    return Finding("bandit", rule, rule, rule, Category.SECURITY, Severity.HIGH, "app.py",
                   line=1, snippet=snippet)  # fmt: skip


def report(
    found: list[Finding], plan_text: str = "- [ ] a\n- [x] b\n", bandit: str = "completed"
) -> Report:
    stamped = fingerprints.assign(found)
    now = datetime.now(UTC)
    step = StepReport(analyzer="bandit", version="1", status=bandit, findings=len(found),
                      files_analyzed=1, files_cached=0, seconds=0.1)  # fmt: skip
    return Report(
        tool_version="test", target=Target(label="repo", commit="abc123"), started_at=now,
        finished_at=now, duration_seconds=0.0,
        inventory=InventoryReport(files=1, lines=100, languages={}, skipped={}),
        steps=[step], findings=stamped, score=scoring.score(stamped, 100),
        plan=progress.summarise({"plan.md": parse(plan_text, "plan.md")}, []),
    )  # fmt: skip


def completed_run(session: Session, project: models.Project, found: list[Finding]) -> models.Run:
    run = lifecycle.queue(session, project.id, "push")
    results.record(session, run, report(found))
    run.status = "completed"
    session.flush()
    return run


def states(session: Session, run: models.Run) -> dict[str, str]:
    rows = session.scalars(select(models.Finding).where(models.Finding.run_id == run.id))
    return {row.snippet: row.state for row in rows}


def test_findings_are_new_then_existing_and_vanished_ones_are_fixed(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    first = completed_run(session, project, [finding("B1", "eval(a)"), finding("B2", "exec(b)")])
    second = completed_run(session, project, [finding("B1", "eval(a)"), finding("B3", "pickle")])

    assert states(session, first) == {"eval(a)": "new", "exec(b)": "new"}
    assert states(session, second) == {"eval(a)": "existing", "pickle": "new", "exec(b)": "fixed"}
    assert (second.summary["new"], second.summary["fixed"]) == (1, 1)


def test_a_finding_is_not_fixed_by_an_analyzer_that_failed(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    first = completed_run(session, project, [finding("B1", "eval(a)")])
    second = lifecycle.queue(session, project.id, "push")
    results.record(session, second, report([], bandit="failed"))  # stopped at the time limit

    assert states(session, first) == {"eval(a)": "new"}
    assert states(session, second) == {"eval(a)": "existing"}
    assert second.summary["fixed"] == 0


def test_storing_a_run_twice_stores_it_once(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    run = lifecycle.queue(session, project.id, "manual", priority="high")
    results.record(session, run, report([finding("B1", "eval(a)")]))
    results.record(session, run, report([finding("B1", "eval(a)")]))

    rows = session.scalars(select(models.Finding).where(models.Finding.run_id == run.id)).all()
    snapshots = session.scalars(select(models.PlanSnapshot)).all()
    assert len(rows) == 1 and len(snapshots) == 1


def test_triage_follows_a_finding_into_the_next_run(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    first = completed_run(session, project, [finding("B1", "eval(a)")])
    row = session.scalar(select(models.Finding).where(models.Finding.run_id == first.id))
    assert row is not None
    row.triage = "false_positive"
    second = completed_run(session, project, [finding("B1", "eval(a)")])

    again = session.scalar(select(models.Finding).where(models.Finding.run_id == second.id))
    assert again is not None and again.triage == "false_positive"


def test_plan_tasks_keep_their_identity_across_runs(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    first = lifecycle.queue(session, project.id, "push")
    results.record(session, first, report([], "- [ ] write docs\n"))
    second = lifecycle.queue(session, project.id, "push")
    results.record(session, second, report([], "intro\n\n- [x] write docs\n"))

    (task,) = session.scalars(select(models.PlanTask)).all()
    assert (task.status, task.first_seen_run_id, task.last_run_id) == ("done", first.id, second.id)


def test_a_new_run_writes_its_outbox_message_in_the_same_transaction(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    run = lifecycle.queue(session, project.id, "manual", priority="high")
    session.rollback()

    assert session.scalars(select(models.Run)).all() == []
    assert session.scalars(select(models.OutboxMessage)).all() == []
    project = projects.create(session, name="p", repository_url="file:///repo")
    run = lifecycle.queue(session, project.id, "manual", priority="high")
    session.commit()
    (message,) = session.scalars(select(models.OutboxMessage)).all()
    assert message.payload == {"run_id": run.id, "priority": "high", "job_id": run.job_id}
    assert run.job_id and run.job_id.startswith("run-")


def test_a_new_push_supersedes_queued_pushes_to_the_same_branch(session: Session) -> None:
    project = projects.create(session, name="p", repository_url="file:///repo")
    older, _ = lifecycle.trigger(session, project.id, "push", ref="main")
    other_branch, _ = lifecycle.trigger(session, project.id, "push", ref="feature")
    manual = lifecycle.queue(session, project.id, "manual", ref="main")
    newer, _ = lifecycle.trigger(session, project.id, "push", ref="main")
    session.expire_all()

    assert runs.get(session, older.id).status == "superseded"
    assert runs.get(session, older.id).error == f"superseded by run {newer.id}"
    assert [runs.get(session, r.id).status for r in (other_branch, manual, newer)] == [
        "queued",
        "queued",
        "queued",
    ]
