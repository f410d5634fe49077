"""The report job: the formats too slow for the scan's path (PDF), rendered
from the stored JSON report of a finished run, on a queue of their own so a
scan never waits behind a layout engine. Running it twice renders once."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.reports import formats
from repolens.reports.model import Report, TrendPoint
from repolens.settings import Settings
from repolens.storage import models, runs

FAST_FORMATS = ("json", "md", "sarif", "html")  # written by the scan job itself
SLOW_FORMATS = ("pdf",)

log = logging.getLogger(__name__)


def directory(settings: Settings, run_id: int) -> Path:
    return settings.data_dir / "reports" / str(run_id)


def render(run_id: int, settings: Settings, sessions: sessionmaker[Session]) -> list[str]:
    """Render and store what RUN_ID lacks of the slow formats; returns their names."""
    with sessions() as session:
        stored = set(
            session.scalars(select(models.Report.format).where(models.Report.run_id == run_id))
        )
    wanted = [name for name in SLOW_FORMATS if name not in stored]
    source = directory(settings, run_id) / "report.json"
    if not wanted or not source.exists():  # done already, or the run's files were cleaned up
        return []
    report = Report.model_validate_json(source.read_bytes())
    with sessions.begin() as session:
        run = runs.find(session, run_id)
        if run is None:  # deleted with its project meanwhile
            return []
        report.trend = trend(session, run)
        store(session, run_id, formats.write(report, wanted, directory(settings, run_id)))
    return wanted


TREND = 10  # scores the PDF shows


def trend(session: Session, run: models.Run) -> list[TrendPoint]:
    """RUN's project's last completed scores up to RUN, oldest first."""
    earlier = session.scalars(
        select(models.Run)
        .where(models.Run.project_id == run.project_id, models.Run.status == "completed",
               models.Run.id <= run.id)
        .order_by(models.Run.id.desc())
        .limit(TREND)
    )  # fmt: skip
    return [
        TrendPoint(run_id=r.id, finished_at=r.finished_at, score=r.summary.get("score", 0),
                   grade=r.summary.get("grade", ""))
        for r in reversed(list(earlier))
    ]  # fmt: skip


def store(session: Session, run_id: int, written: list[Path]) -> None:
    for path in written:
        session.add(models.Report(run_id=run_id, format=path.suffix.lstrip("."), path=str(path),
                                  size=path.stat().st_size))  # fmt: skip
