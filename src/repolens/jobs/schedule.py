"""Periodic work: rescans on each project's cron schedule, and clean-up of old
runs and their report files. Beat calls these in the distributed deployment;
the embedded runtime calls them from its dispatcher loop."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens import cron
from repolens.errors import Refused
from repolens.jobs import lifecycle
from repolens.storage.models import TERMINAL, Project, Run, now

log = logging.getLogger(__name__)


def trigger_due(
    sessions: sessionmaker[Session], at: datetime | None = None, min_interval_seconds: int = 900
) -> list[int]:
    """Queue a low-priority run for every project whose schedule fired since its
    last scheduled run (or since it was created); at most one per project. Each
    project is decided in a transaction of its own: a schedule that cannot be
    read (stored before it was checked, or under a tighter minimum) is skipped
    with a warning, and the others still fire."""
    at = at or now()
    with sessions() as session:
        scheduled = session.execute(
            select(Project.id, Project.schedule, Project.created_at).where(
                Project.schedule.is_not(None)
            )
        ).all()
    created = []
    for project_id, expression, created_at in scheduled:
        if not expression:
            continue
        try:
            cron.check(expression, min_interval_seconds)
            run_id = _fire_if_due(sessions, project_id, expression, created_at, at)
        except Refused as exc:
            log.warning("project %s: %s; not scheduled", project_id, exc)
            continue
        except Exception:  # one project's failure is not every project's
            log.exception("scheduling project %s failed", project_id)
            continue
        if run_id is not None:
            created.append(run_id)
    return created


def _fire_if_due(sessions: sessionmaker[Session], project_id: int, expression: str,
                 created_at: datetime, at: datetime) -> int | None:  # fmt: skip
    with sessions.begin() as session:
        last = session.scalar(
            select(func.max(Run.queued_at)).where(
                Run.project_id == project_id, Run.trigger == "schedule"
            )
        )
        if cron.next_after(expression, last or created_at) > at:
            return None
        run, _new = lifecycle.trigger(session, project_id, "schedule")
        run.queued_at = at
        return run.id


def clean_up(sessions: sessionmaker[Session], data_dir: Path, keep_days: int) -> list[int]:
    """Delete finished runs older than KEEP_DAYS, with their report files; the
    latest completed run of each project stays, whatever its age."""
    cutoff = now() - timedelta(days=keep_days)
    with sessions.begin() as session:
        latest = select(func.max(Run.id)).where(Run.status == "completed").group_by(Run.project_id)
        old = session.scalars(
            select(Run).where(
                Run.status.in_(TERMINAL), Run.finished_at < cutoff, Run.id.not_in(latest)
            )
        ).all()
        removed = [run.id for run in old]
        for run in old:
            session.delete(run)
    for run_id in removed:
        shutil.rmtree(data_dir / "reports" / str(run_id), ignore_errors=True)
    return removed
