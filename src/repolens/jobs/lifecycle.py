"""A run's life: the only way a run changes state.

    queued ──start──▶ running ──complete──▶ completed
      │  ▲               │ └────fail──────▶ failed
      │  └───requeue─────┤ (an orphan)     (a failed or cancelled run, retried)
      └──cancel──────────┴────cancel─────▶ cancelled        queued ──supersede──▶ superseded

Each transition writes the row in the caller's transaction, asks for what
follows from it (the scan job, the report job, the notice) through the outbox,
and records the live event it causes; the event is published once the
transaction commits (`publish`, called by the commit hook of
`outbox.send_on_commit`, or by `changing`). `trigger` is how every kind of
request for a scan (the API, the CLI, schedules, forge webhooks) asks for one:
coalescing and de-duplication live there."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import NotFoundError
from repolens.jobs import tasks
from repolens.realtime.feed import Feed
from repolens.storage import runs
from repolens.storage.models import (
    Project,
    RefreshRequest,
    Run,
    RunStatus,
    could_exist,
    now,
)

if TYPE_CHECKING:
    from repolens.jobs.queue import JobQueue


# The priority a reason for a scan gets, unless the caller says otherwise.
PRIORITY = {"manual": "high", "push": "default", "pull_request": "default", "schedule": "low"}

_EVENTS = "repolens.lifecycle.events"  # what a session's transitions will tell the feed
Tell = Callable[[Feed], None]


def trigger(
    session: Session,
    project_id: int,
    reason: str,
    ref: str | None = None,
    *,
    priority: str | None = None,
    requested_by: str | None = None,
    note: str | None = None,
    source: runs.Source | None = None,
) -> tuple[Run, bool]:
    """A scan of the project at REF (default: its branch; SOURCE's commit when
    it names one) for REASON; returns the run that answers it and whether it is
    new. A manual request while a run of the same project and ref still waits
    is answered by that run (the project's row is locked first, so two at once
    cannot both queue) and is kept in the refresh history. A push makes older
    pushes to the same branch that have not started moot; a pull request's new
    head, its older heads."""
    waiting = _waiting(session, project_id, ref) if reason == "manual" else None
    run = waiting
    if run is None:
        wanted = runs.Wanted(project_id, reason, ref, priority or PRIORITY.get(reason, "default"),
                             source or runs.Source())  # fmt: skip
        run = request_all(session, [wanted])[0]
        if run is None:
            raise NotFoundError(f"project {project_id} not found")
    if reason == "manual":
        session.add(RefreshRequest(project_id=project_id, run_id=run.id,
                                   requested_by=requested_by, reason=note))  # fmt: skip
    return run, waiting is None


MOOTING = ("push", "pull_request")  # the triggers whose newer run makes an older one moot


def request_all(session: Session, wanted: list[runs.Wanted]) -> list[Run | None]:
    """Runs for WANTED, queued together (None where the project is gone), and
    the queued runs they make moot superseded: a push makes older pushes to the
    same branch moot, a pull request's new head its older heads. A batch of
    forge deliveries is a handful of statements, however many it holds."""
    made = runs.create_all(session, wanted, tasks.SCAN.name)
    fresh = [run for run in made if run is not None]
    for run in fresh:
        _queued(session, run)
    _supersede_older(session, [run for run in fresh if run.trigger in MOOTING])
    return made


def _supersede_older(session: Session, fresh: list[Run]) -> None:
    """Supersede every queued run older than the newest of FRESH on its line
    (`_line`), in one query for all of them."""
    newest: dict[tuple[Any, ...], Run] = {}
    for run in fresh:
        line = _line(run)
        if line not in newest or run.id > newest[line].id:
            newest[line] = run
    if not newest:
        return
    candidates = session.scalars(
        select(Run).where(
            Run.status == RunStatus.QUEUED,
            Run.project_id.in_({run.project_id for run in fresh}),
            Run.trigger.in_({run.trigger for run in fresh}),
            or_(Run.ref.in_({run.ref for run in fresh if run.ref is not None}),
                Run.pull_request.in_({run.pull_request for run in fresh
                                      if run.pull_request is not None})),
        ).order_by(Run.id)
    )  # fmt: skip
    for run in candidates:
        by = newest.get(_line(run))
        if by is not None and run.id < by.id:
            supersede(session, run, by)
    session.flush()


def _line(run: Run) -> tuple[Any, ...]:
    """Which runs a newer one makes moot: the same branch's pushes, or the same
    pull request's heads."""
    same = run.pull_request if run.trigger == "pull_request" else run.ref
    return (run.project_id, run.trigger, same)


def close_pull_request(session: Session, project_id: int, number: int,
                       jobs: JobQueue | None = None) -> list[int]:  # fmt: skip
    """Cancel the queued runs of pull request NUMBER, closed; returns their ids."""
    waiting = session.scalars(
        select(Run).where(Run.project_id == project_id, Run.pull_request == number,
                          Run.status == RunStatus.QUEUED)
    ).all()  # fmt: skip
    for run in waiting:
        cancel(session, run, f"pull request {number} was closed", jobs)
    return [run.id for run in waiting]


def _waiting(session: Session, project_id: int, ref: str | None) -> Run | None:
    project = session.get(Project, project_id, with_for_update=True) \
        if could_exist(project_id) else None  # fmt: skip
    if project is None:
        raise NotFoundError(f"project {project_id} not found")
    return session.scalar(
        select(Run)
        .where(Run.project_id == project_id, Run.status == RunStatus.QUEUED,
               Run.ref == (ref or project.default_branch))
        .order_by(Run.id)
        .limit(1)
    )  # fmt: skip


def queue(
    session: Session,
    project_id: int,
    reason: str,
    ref: str | None = None,
    priority: str | None = None,
    source: runs.Source | None = None,
) -> Run:
    """A new run of the project, queued, with the message that sends its scan;
    nothing is superseded (`request_all` is what a trigger does)."""
    run = runs.create(session, project_id, trigger=reason, ref=ref,
                      priority=priority or "default", topic=tasks.SCAN.name,
                      source=source)  # fmt: skip
    _queued(session, run)
    return run


def _queued(session: Session, run: Run) -> None:
    tell(session, lambda feed: feed.queued(run))


def start(session: Session, run_id: int, worker: str, picked_up: datetime) -> Run | None:
    """Claim RUN_ID for WORKER: only a queued run starts, so a message delivered
    twice runs it once. None when it does not start (taken, ended, deleted, or
    asked to cancel before it started: then it is cancelled)."""
    run = runs.claim(session, run_id)
    if run is None:
        return None
    if run.cancel_requested:
        _end(session, run, RunStatus.CANCELLED, "cancelled before start")
        return None
    run.status, run.worker, run.attempts = RunStatus.RUNNING, worker, run.attempts + 1
    run.started_at = run.started_at or picked_up
    run.heartbeat_at = now()
    _feedback(session, run, "started")
    tell(session, lambda feed: feed.started(run))
    return run


def complete(session: Session, run: Run, new: list[dict[str, Any]]) -> None:
    """RUN finished with its results stored; NEW are its new findings."""
    run.progress, run.current_step = 100, "done"
    runs.announce(session, run, tasks.REPORT.name, {"run_id": run.id})  # the slow formats
    tell(session, lambda feed: feed.findings(run, new))
    _end(session, run, RunStatus.COMPLETED, None)


def fail(session: Session, run: Run, error: str, step: str | None = None) -> None:
    _end(session, run, RunStatus.FAILED, error, step)


def cancel(session: Session, run: Run, error: str, jobs: JobQueue | None = None) -> None:
    """End RUN as cancelled; a queued one is taken back from JOBS first."""
    if run.status == RunStatus.QUEUED and jobs is not None:
        jobs.cancel(run.id, run.job_id)
    _end(session, run, RunStatus.CANCELLED, error)


def supersede(session: Session, run: Run, by: Run) -> None:
    _end(session, run, RunStatus.SUPERSEDED, f"superseded by run {by.id}")


def requeue(session: Session, run: Run, step: str | None = "requeued") -> None:
    """RUN back in the queue with a fresh job id: an orphan whose worker died,
    or a failed or cancelled run retried."""
    if run.status != RunStatus.RUNNING:  # a retry starts over
        run.error, run.finished_at, run.progress = None, None, 0
        run.cancel_requested, run.cancel_requested_at = False, None
        told = (run.origin or {}).get("feedback", {})
        if "check_run" in told:  # a new attempt: a new check run (the comment stays)
            kept = {key: value for key, value in told.items() if key == "comment"}
            run.origin = {**run.origin, "feedback": kept}
    run.status, run.worker, run.current_step = RunStatus.QUEUED, None, step
    runs.renew_job(session, run, tasks.SCAN.name)
    tell(session, lambda feed: feed.queued(run))


def _end(session: Session, run: Run, status: RunStatus, error: str | None,
         step: str | None = None) -> None:  # fmt: skip
    run.status, run.error, run.finished_at = status, error, now()
    if step is not None:
        run.current_step = step
    if run.project.notify_url:
        runs.announce(session, run, tasks.NOTIFY.name, {"run_id": run.id})
    if run.started_at is not None:  # a run that never started has nothing to tell a forge
        _feedback(session, run, "ended")
    tell(session, lambda feed: feed.finished(run))


def _feedback(session: Session, run: Run, stage: str) -> None:
    """A run a forge asked for tells the forge as it starts and as it ends."""
    if (run.origin or {}).get("forge"):
        runs.announce(session, run, tasks.FEEDBACK.name, {"run_id": run.id, "stage": stage})


def tell(session: Session, said: Tell) -> None:
    """Have SAID told to the feed once SESSION's transaction commits."""
    session.info.setdefault(_EVENTS, []).append(said)


def publish(session: Session, feed: Feed) -> None:
    """Tell FEED what SESSION's committed transitions caused, in order and
    together."""
    told = session.info.pop(_EVENTS, [])
    if told:
        with feed.gathered() as together:
            for said in told:
                said(together)


def forget(session: Session) -> None:
    """Drop what a rolled-back transaction's transitions would have told."""
    session.info.pop(_EVENTS, None)


@contextlib.contextmanager
def changing(sessions: sessionmaker[Session], feed: Feed) -> Iterator[Session]:
    """A transaction whose transitions FEED hears of once it commits."""
    with sessions.begin() as session:
        try:
            yield session
        except BaseException:
            forget(session)
            raise
    publish(session, feed)
