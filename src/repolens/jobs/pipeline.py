"""The scan job's body: start the run, scan, store, end it.

Thin on purpose: the scan is `repolens.scan.run`, storing is
`storage.results.record`, every change of state is `lifecycle`'s. What is here
is the order of those, the run's heartbeat and progress (throttled), and
cooperative cancellation."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from repolens import scan
from repolens.errors import InputError, RepolensError, ScanAborted
from repolens.jobs import feedback, lifecycle, rendering
from repolens.realtime.feed import Feed
from repolens.reports import formats
from repolens.reports.model import Report
from repolens.security import repositories
from repolens.security.outbound import OutboundPolicy
from repolens.security.vault import Vault
from repolens.settings import Settings
from repolens.storage import results, runs
from repolens.storage.models import RunStatus, now

log = logging.getLogger(__name__)

DELETED = "deleted"  # what a run deleted with its project while running ends as


@dataclass
class RunObserver:
    """Writes progress and the heartbeat to the run row, at most every `interval`
    seconds, and reads back whether someone asked to cancel. Every write carries
    the latest progress: a heartbeat a moment before must not swallow it."""

    sessions: sessionmaker[Session]
    run_id: int
    project_id: int = 0
    feed: Feed = field(default_factory=lambda: Feed(None))
    interval: float = 0.5
    cancelled: bool = False
    _last: float = field(default=0.0)
    _stage: str = "queued"
    _counts: tuple[int, int, str] = (0, 0, "")
    _percent: int | None = None  # the latest, never going back
    _said: tuple[object, ...] = ()  # the last progress published

    def stage(self, name: str) -> None:
        self._stage = name
        self._write(force=True)
        self.feed.step(self.run_id, self.project_id, name)

    def progress(self, done: int, total: int, message: str) -> None:
        self._counts = (done, total, message)
        # The total grows as analyzers are planned; what is shown never goes back.
        self._percent = max(self._percent or 0, min(99, 100 * done // max(total, 1)))
        self._write()

    def should_abort(self) -> bool:
        self._write()
        return self.cancelled

    def _write(self, force: bool = False) -> None:
        moment = time.monotonic()
        if not force and moment - self._last < self.interval:
            return
        self._last = moment
        with self.sessions.begin() as session:
            run = runs.find(session, self.run_id)
            if run is None:  # deleted with its project: stop as if cancelled
                self.cancelled = True
                return
            run.heartbeat_at = now()
            run.current_step = self._stage
            if self._percent is not None:
                run.progress = self._percent
            self.cancelled = run.cancel_requested
            percent = run.progress
        done, total, message = self._counts
        if (percent, self._stage, self._counts) == self._said:
            return  # a heartbeat only: nothing new to tell the clients
        self._said = (percent, self._stage, self._counts)
        self.feed.progress(self.run_id, self.project_id, percent=percent, step=self._stage,
                           current=done, total=total, message=message)  # fmt: skip


def execute(
    run_id: int,
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    worker: str = "local",
    scanner: Callable[..., Report] = scan.run,
    feed: Feed | None = None,
) -> str:
    """Run the scan of RUN_ID to a terminal state; returns that state. FEED
    hears of every change once it is committed."""
    feed = feed or Feed(None)
    started = _start(run_id, sessions, worker, picked_up=now(), feed=feed)
    if started is None:
        return runs.get_status(sessions, run_id)
    observer = RunObserver(sessions, run_id, started.project_id, feed)
    try:
        request = _fetchable(started, settings)
        report = scanner(request, settings, observer=observer, should_abort=observer.should_abort,
                         time_limit=settings.job_soft_time_limit_seconds)  # fmt: skip
        return _complete(run_id, report, settings, sessions, feed)
    except ScanAborted:
        return _finish(sessions, run_id, RunStatus.CANCELLED, "cancelled while running", feed)
    except InputError as exc:
        return _finish(sessions, run_id, RunStatus.FAILED, str(exc), feed)
    except RepolensError as exc:
        return _finish(sessions, run_id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}", feed)
    except OperationalError:
        raise  # the database is away: the job's retry, or the reaper, takes it from here
    except Exception as exc:  # a bug, a full disk: this run fails, the worker goes on
        log.exception("run %s stopped on an unexpected error", run_id)
        error = f"unexpected error: {_describe(exc)}"
        return _finish(sessions, run_id, RunStatus.FAILED, error, feed)


def fail_running(
    sessions: sessionmaker[Session], run_id: int, error: str, feed: Feed | None = None
) -> None:
    """Fail RUN_ID from outside its job, whose process was stopped (the hard time
    limit); nothing happens when it is no longer running."""
    _finish(sessions, run_id, RunStatus.FAILED, error, feed or Feed(None),
            only_from=RunStatus.RUNNING)  # fmt: skip


def _complete(
    run_id: int, report: Report, settings: Settings, sessions: sessionmaker[Session], feed: Feed
) -> str:
    written = formats.write(report, rendering.FAST_FORMATS, rendering.directory(settings, run_id))
    with lifecycle.changing(sessions, feed) as session:
        run = runs.find(session, run_id)
        if run is None:
            shutil.rmtree(rendering.directory(settings, run_id), ignore_errors=True)
            return DELETED
        new = results.record(session, run, report)
        rendering.store(session, run_id, written)
        run.ref = run.ref or report.target.ref  # the branch the repository's HEAD named
        lifecycle.complete(session, run, new)
    return RunStatus.COMPLETED


def _fetchable(started: Started, settings: Settings) -> scan.ScanRequest:
    """The request with its repository admitted again by today's policy, and the
    credentials unsealed for this fetch only: the project's own, else those of
    the GitHub App installation that asked for the run (for a repository on
    that GitHub only)."""
    request = started.request
    admitted = repositories.stored(request.location, started.secret,
                                   repositories.RepositoryPolicy.of(settings),
                                   Vault.of(settings))  # fmt: skip
    resolve = repositories.pin(admitted.url, OutboundPolicy.of(settings))
    credentials = admitted.credentials or feedback.fetch_credentials(
        started.origin, started.repository_key, settings
    )
    return replace(request, location=admitted.url, credentials=credentials,
                   resolve=resolve)  # fmt: skip


class Started(NamedTuple):
    """What a started run's scan needs from its rows."""

    request: scan.ScanRequest
    project_id: int
    secret: str | None  # the project's sealed credentials
    origin: dict[str, Any]
    repository_key: str | None


def _describe(exc: Exception) -> str:
    said = str(exc)
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def _start(
    run_id: int, sessions: sessionmaker[Session], worker: str, picked_up: datetime, feed: Feed
) -> Started | None:
    """Start the run (`lifecycle.start`) and say what to scan; None when it
    does not start."""
    with lifecycle.changing(sessions, feed) as session:
        run = lifecycle.start(session, run_id, worker, picked_up)
        if run is None:
            return None
        project = run.project
        options = dict(project.analyzer_options or {})
        if project.plan_path:
            options["plan"] = {**options.get("plan", {}), "paths": [project.plan_path]}
        before = results.previous_run(session, run)
        request = scan.ScanRequest(
            location=project.repository_url,
            ref=run.commit_sha or run.ref,  # a forge's request names the exact commit
            options=options,
            compare_to=before.commit_sha if before else None,
        )
        return Started(request, run.project_id, project.repository_secret,
                       dict(run.origin or {}), project.repository_key)  # fmt: skip


def _finish(
    sessions: sessionmaker[Session],
    run_id: int,
    status: RunStatus,
    error: str,
    feed: Feed,
    *,
    only_from: RunStatus | None = None,
) -> str:
    """End RUN_ID as STATUS (failed or cancelled) with ERROR; with ONLY_FROM,
    only a run in that state. Returns the state the run is in."""
    with lifecycle.changing(sessions, feed) as session:
        run = runs.find(session, run_id)
        if run is None:
            return DELETED
        if only_from is not None and run.status != only_from:
            return run.status
        if status == RunStatus.CANCELLED:
            lifecycle.cancel(session, run, error)
        else:
            lifecycle.fail(session, run, error)
    return status
