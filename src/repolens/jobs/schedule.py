"""Periodic work: rescans on each project's cron schedule, and clean-up of old
runs and their report files. Beat calls these in the distributed deployment;
the embedded runtime calls them from its dispatcher loop."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from croniter import croniter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens.storage import runs
from repolens.storage.models import Project, Run, now


def next_after(schedule: str, moment: datetime) -> datetime:
    fire: datetime = croniter(schedule, moment).get_next(datetime)
    return fire


def is_valid(schedule: str) -> bool:
    return bool(croniter.is_valid(schedule))


def trigger_due(sessions: sessionmaker[Session], at: datetime | None = None) -> list[int]:
    """Queue a low-priority run for every project whose schedule fired since its
    last scheduled run (or since it was created); at most one per project."""
    at = at or now()
    created = []
    with sessions.begin() as session:
        for project in session.scalars(select(Project).where(Project.schedule.is_not(None))):
            if not project.schedule or not is_valid(project.schedule):
                continue
            last = session.scalar(
                select(func.max(Run.queued_at)).where(
                    Run.project_id == project.id, Run.trigger == "schedule"
                )
            )
            since = _aware(last or project.created_at)
            if next_after(project.schedule, since) <= at:
                run = runs.create(session, project.id, trigger="schedule", priority="low")
                run.queued_at = at
                created.append(run.id)
    return created


def clean_up(sessions: sessionmaker[Session], data_dir: Path, keep_days: int) -> list[int]:
    """Delete finished runs older than KEEP_DAYS, with their report files; the
    latest completed run of each project stays, whatever its age."""
    cutoff = now() - timedelta(days=keep_days)
    with sessions.begin() as session:
        latest = select(func.max(Run.id)).where(Run.status == "completed").group_by(Run.project_id)
        old = session.scalars(
            select(Run).where(
                Run.status.in_(runs.TERMINAL), Run.finished_at < cutoff, Run.id.not_in(latest)
            )
        ).all()
        removed = [run.id for run in old]
        for run in old:
            session.delete(run)
    for run_id in removed:
        shutil.rmtree(data_dir / "reports" / str(run_id), ignore_errors=True)
    return removed


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; ours are all UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
