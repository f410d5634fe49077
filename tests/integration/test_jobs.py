"""Runs as background jobs in the embedded deployment: SQLite or PostgreSQL, local queue."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens import scan
from repolens.analyzers.base import AnalyzerContext, Outcome, Snapshot
from repolens.analyzers.registry import Registry
from repolens.errors import NotFoundError, ScanAborted
from repolens.jobs import lifecycle, outbox, pipeline, recovery, rendering, tasks
from repolens.jobs.backends.local import LocalQueue
from repolens.realtime.backends.memory import MemoryHub
from repolens.realtime.feed import Feed
from repolens.settings import Settings
from repolens.storage import models, projects, runs
from repolens.storage.models import TERMINAL, now
from tests.conftest import Repo
from tests.unit.test_runner import CountingAnalyzer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", workers=2)


def new_run(sessions: sessionmaker[Session], url: str, priority: str = "default") -> int:
    with sessions.begin() as session:
        name = f"p{time.monotonic_ns()}"
        project = projects.create(session, name=name, repository_url=url, default_branch="main")
        return lifecycle.queue(session, project.id, "manual", priority=priority).id


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def report_formats(sessions: sessionmaker[Session], run_id: int) -> set[str]:
    with sessions() as session:
        query = select(models.Report.format).where(models.Report.run_id == run_id)
        return set(session.scalars(query))


def by_task(
    scan: Callable[[int], object] = lambda run_id: None,
    render: Callable[[int], object] = lambda run_id: None,
    notify: Callable[[int], object] = lambda run_id: None,
) -> Callable[[tasks.Task, dict[str, Any]], object]:
    """What a local queue runs: each task's stand-in, given the run's id."""
    bodies = {tasks.SCAN: scan, tasks.REPORT: render, tasks.NOTIFY: notify}
    return lambda task, payload: bodies[task](int(payload["run_id"]))


def status(sessions: sessionmaker[Session], run_id: int) -> str:
    return runs.get_status(sessions, run_id)


def test_a_triggered_run_goes_through_the_outbox_and_the_queue_to_stored_results(
    sessions: sessionmaker[Session], settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    code = "import os\nimport subprocess\nsubprocess.call(x, shell=True)\n"
    commit = repo.commit({"app.py": code, "plan.md": "- [x] one\n- [ ] two\n"})
    run_id = new_run(sessions, str(repo.path))
    scan_it = functools.partial(pipeline.execute, settings=settings, sessions=sessions)
    render_it = functools.partial(rendering.render, settings=settings, sessions=sessions)
    queue = LocalQueue(by_task(scan=scan_it, render=render_it), workers=1)
    queue.start()
    try:
        assert outbox.dispatch(sessions, queue) == 1
        wait_for(lambda: status(sessions, run_id) in TERMINAL)
        assert outbox.dispatch(sessions, queue) == 1  # the slow report formats, asked for
        wait_for(lambda: report_formats(sessions, run_id) == {"json", "md", "sarif", "html", "pdf"})
    finally:
        queue.stop()
    assert rendering.render(run_id, settings, sessions) == []  # rendered once

    with sessions() as session:
        run = runs.get(session, run_id)
        assert (run.status, run.progress, run.attempts) == ("completed", 100, 1)
        assert run.commit_sha == commit
        assert run.heartbeat_at is not None and run.summary["findings"] >= 2
        rules = set(
            session.scalars(select(models.Finding.rule_id).where(models.Finding.run_id == run_id))
        )
        assert {"B602", "F401"} <= rules
        snapshot = session.scalar(select(models.PlanSnapshot))
        assert snapshot is not None and (snapshot.done, snapshot.total) == (1, 2)


def test_a_repository_that_cannot_be_cloned_fails_its_run_once_with_the_reason(
    sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    run_id = new_run(sessions, (tmp_path / "nowhere.git").as_uri())
    assert pipeline.execute(run_id, settings, sessions) == "failed"
    with sessions() as session:
        run = runs.get(session, run_id)
        assert run.attempts == 1
        assert run.error is not None and "could not fetch" in run.error


def test_high_priority_runs_start_before_default_and_low_and_report_renderings_come_last(
    sessions: sessionmaker[Session],
) -> None:
    started: list[str] = []
    gate = threading.Event()

    def execute(run_id: int) -> None:
        started.append(f"scan {run_id}")
        gate.wait(10)

    queue = LocalQueue(by_task(scan=execute, render=lambda run_id: started.append(f"pdf {run_id}")),
                       workers=1)  # fmt: skip
    queue.start()
    queue.send(tasks.SCAN, {"run_id": 1, "priority": "default"})
    wait_for(lambda: started == ["scan 1"])
    queue.send(tasks.REPORT, {"run_id": 1})
    for run_id, priority in [(2, "low"), (3, "default"), (4, "high"), (5, "high")]:
        queue.send(tasks.SCAN, {"run_id": run_id, "priority": priority})
    assert queue.depth() == {"high": 2, "default": 1, "low": 1, "notify": 0, "report": 1}
    gate.set()
    wait_for(lambda: len(started) == 6)
    queue.stop()
    assert started == ["scan 1", "scan 4", "scan 5", "scan 3", "scan 2", "pdf 1"]


def test_a_queued_run_can_be_taken_back(sessions: sessionmaker[Session]) -> None:
    queue = LocalQueue(by_task(), workers=1)
    queue.send(tasks.SCAN, {"run_id": 7, "priority": "low"})
    assert queue.cancel(7) is True
    assert queue.cancel(7) is False
    assert queue.depth() == {"high": 0, "default": 0, "low": 0, "notify": 0, "report": 0}


def test_a_running_run_stops_at_its_next_check_when_cancelled(
    sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    run_id = new_run(sessions, str(tmp_path))
    checking = threading.Event()

    def long_scan(request: Any, settings: Settings, *, observer: Any, should_abort: Any,
                  time_limit: float) -> Any:  # fmt: skip
        observer.stage("analyze")
        while True:
            checking.set()
            observer._last = 0.0  # every check reads the flag in this test
            if should_abort():
                raise ScanAborted()
            time.sleep(0.01)

    worker = threading.Thread(
        target=pipeline.execute, args=(run_id, settings, sessions), kwargs={"scanner": long_scan}
    )
    worker.start()
    checking.wait(10)
    with sessions.begin() as session:
        runs.get(session, run_id).cancel_requested = True
    worker.join(10)

    with sessions() as session:
        run = runs.get(session, run_id)
        assert (run.status, run.error) == ("cancelled", "cancelled while running")


def test_runs_orphaned_by_a_dead_worker_are_queued_again_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    stale, fresh = new_run(sessions, str(tmp_path)), new_run(sessions, str(tmp_path))
    with sessions.begin() as session:
        for run_id, beat in [(stale, now() - timedelta(minutes=5)), (fresh, now())]:
            run = runs.get(session, run_id)
            run.status, run.heartbeat_at = "running", beat
        session.execute(models.OutboxMessage.__table__.update().values(dispatched_at=now()))

    assert recovery.requeue_orphans(sessions, timedelta(minutes=1)) == [stale]
    assert recovery.requeue_orphans(sessions, timedelta(minutes=1)) == []
    assert (status(sessions, stale), status(sessions, fresh)) == ("queued", "running")
    queue = LocalQueue(by_task())
    assert outbox.dispatch(sessions, queue) == 1
    assert queue.depth()["default"] == 1


def test_a_run_whose_worker_keeps_dying_fails_after_its_last_attempt_instead_of_looping(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    hub = MemoryHub(100)
    tried_twice, tried_thrice = new_run(sessions, str(tmp_path)), new_run(sessions, str(tmp_path))
    with sessions.begin() as session:
        for run_id, attempts in [(tried_twice, 2), (tried_thrice, 3)]:
            run = runs.get(session, run_id)
            run.status, run.attempts = "running", attempts
            run.heartbeat_at = now() - timedelta(minutes=5)

    requeued = recovery.requeue_orphans(
        sessions, timedelta(minutes=1), max_attempts=3, feed=Feed(hub)
    )

    assert requeued == [tried_twice]
    with sessions() as session:
        given_up = runs.get(session, tried_thrice)
        assert given_up.status == "failed" and given_up.finished_at is not None
        assert given_up.error is not None and "stopped while running it 3 times" in given_up.error
    said = hub.history(f"run:{tried_thrice}").events
    assert [event.type for event in said][-1] == "run.failed"


def test_an_unexpected_error_in_a_scan_fails_its_run_with_the_error_and_the_worker_goes_on(
    sessions: sessionmaker[Session], settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    hub, repo = MemoryHub(100), make_repo()
    repo.commit({"app.py": "x = 1\n"})
    broken, after = new_run(sessions, str(repo.path)), new_run(sessions, str(repo.path))

    def buggy(request: Any, settings: Settings, **_: Any) -> Any:
        raise KeyError("plan")

    assert pipeline.execute(broken, settings, sessions, scanner=buggy, feed=Feed(hub)) == "failed"
    assert pipeline.execute(after, settings, sessions) == "completed"
    with sessions() as session:
        assert runs.get(session, broken).error == "unexpected error: KeyError: 'plan'"
    assert hub.history(f"run:{broken}").events[-1].type == "run.failed"


class HangingAnalyzer(CountingAnalyzer):
    """Finishes only when the test lets it: a tool that hangs."""

    name: ClassVar[str] = "hanging"
    release = threading.Event()

    def analyze(self, snapshot: Snapshot, context: AnalyzerContext) -> Outcome:
        self.release.wait(30)
        return Outcome([])


def test_a_scan_at_its_soft_time_limit_stores_what_finished_and_fails_only_the_rest(
    sessions: sessionmaker[Session], settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    repo.commit({"app.py": "x = 1  # TODO\n"})
    run_id = new_run(sessions, str(repo.path))
    limited = settings.model_copy(update={"job_soft_time_limit_seconds": 2})
    registry = Registry({"todo": CountingAnalyzer, "hanging": HangingAnalyzer})
    HangingAnalyzer.release.clear()
    try:
        scanner = functools.partial(scan.run, registry=registry)
        assert pipeline.execute(run_id, limited, sessions, scanner=scanner) == "completed"
    finally:
        HangingAnalyzer.release.set()

    with sessions() as session:
        steps = session.scalars(select(models.Step).where(models.Step.run_id == run_id))
        assert {step.name: (step.status, step.error) for step in steps} == {
            "todo": ("completed", None),
            "hanging": ("failed", "stopped at the time limit"),
        }
        found = session.scalars(select(models.Finding).where(models.Finding.run_id == run_id))
        assert [(f.analyzer, f.path, f.line) for f in found] == [("todo", "app.py", 1)]


def test_an_outbox_message_waits_while_the_queue_is_down(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    class Down:
        backend = "down"
        running: ClassVar[set[int]] = set()

        def send(self, task: tasks.Task, payload: dict[str, Any]) -> str:
            raise ConnectionError("broker unreachable")

        def cancel(self, run_id: int, job_id: str | None) -> bool:
            return False

        def depth(self) -> dict[str, int]:
            return {}

    run_id = new_run(sessions, str(tmp_path))
    assert outbox.dispatch(sessions, Down()) == 0
    with sessions() as session:
        (message,) = session.scalars(select(models.OutboxMessage)).all()
        assert message.dispatched_at is None and "broker unreachable" in (message.last_error or "")

    queue = LocalQueue(by_task())
    assert outbox.dispatch(sessions, queue) == 1
    assert queue.depth()["default"] == 1
    assert recovery.waiting(sessions) == [(run_id, "default")]


def test_a_schedule_queues_one_low_priority_run_each_time_it_fires(
    sessions: sessionmaker[Session],
) -> None:
    from datetime import UTC, datetime

    from repolens.jobs import schedule

    created = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with sessions.begin() as session:
        project = projects.create(session, name="nightly", repository_url="/repo",
                                  schedule="0 3 * * *", created_at=created)  # fmt: skip
        projects.create(session, name="manual-only", repository_url="/repo")

    assert schedule.trigger_due(sessions, datetime(2026, 1, 2, 2, 59, tzinfo=UTC)) == []
    (first,) = schedule.trigger_due(sessions, datetime(2026, 1, 2, 3, 30, tzinfo=UTC))
    assert schedule.trigger_due(sessions, datetime(2026, 1, 2, 9, 0, tzinfo=UTC)) == []
    (second,) = schedule.trigger_due(sessions, datetime(2026, 1, 3, 3, 1, tzinfo=UTC))
    with sessions() as session:
        made = [runs.get(session, run_id) for run_id in (first, second)]
        assert {(r.project_id, r.trigger, r.priority) for r in made} == {
            (project.id, "schedule", "low")
        }


def test_clean_up_deletes_old_runs_and_their_reports_but_keeps_the_latest(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    from repolens.jobs import schedule

    ids = [new_run(sessions, "/repo") for _ in range(3)]
    with sessions.begin() as session:
        project_id = runs.get(session, ids[0]).project_id
        for run_id in ids:
            run = runs.get(session, run_id)
            run.project_id = project_id
            run.status, run.finished_at = "completed", now() - timedelta(days=200)
    for run_id in ids:
        (tmp_path / "reports" / str(run_id)).mkdir(parents=True)

    assert schedule.clean_up(sessions, tmp_path, keep_days=90) == ids[:2]
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [str(ids[2])]
    with sessions() as session:
        assert session.scalars(select(models.Run.id)).all() == [ids[2]]


def test_a_committed_trigger_is_announced_and_sent_as_it_commits_and_a_rolled_back_one_never(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    queue, hub = LocalQueue(by_task()), MemoryHub()
    outbox.send_on_commit(sessions, queue, Feed(hub))
    with sessions() as session:
        project = projects.create(session, name="p", repository_url=str(tmp_path))
        lifecycle.queue(session, project.id, "manual")
        session.rollback()
        project = projects.create(session, name="p", repository_url=str(tmp_path))
        kept = lifecycle.queue(session, project.id, "manual", priority="high")
        assert queue.depth()["high"] == 0  # not before the commit
        session.commit()
        (queued,) = hub.history(f"run:{kept.id}").events  # told as it commits

    wait_for(lambda: queue.depth()["high"] == 1, 5)  # and sent at once, off the commit's path
    assert queue.depth() == {"high": 1, "default": 0, "low": 0, "notify": 0, "report": 0}
    assert outbox.dispatch(sessions, queue) == 0  # nothing left pending for the dispatcher
    assert (queued.type, queued.data["priority"]) == ("run.queued", "high")
    assert [e.data["run_id"] for e in hub.history("global").events] == [kept.id]

    def marked() -> bool:  # a moment later, off the trigger's path
        with sessions() as session:
            (message,) = session.scalars(select(models.OutboxMessage)).all()
            assert message.payload["run_id"] == kept.id
            return message.dispatched_at is not None

    wait_for(marked, 5)


class Recording(LocalQueue):
    """A local queue that remembers what it was handed, and can run something
    the moment a message arrives (a dispatcher pass racing the sender)."""

    def __init__(self, on_enqueue: Callable[[], object] = lambda: None) -> None:
        super().__init__(by_task())
        self.sent: list[int] = []
        self.on_enqueue = on_enqueue

    def send(self, task: tasks.Task, payload: dict[str, Any]) -> str:
        self.sent.append(int(payload["run_id"]))
        self.on_enqueue()
        return super().send(task, payload)


def test_a_dispatcher_pass_between_the_commit_and_the_mark_does_not_send_a_trigger_twice(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    passes: list[int] = []
    queue = Recording(lambda: passes.append(outbox.dispatch(sessions, queue)))
    sender = outbox.send_on_commit(sessions, queue, Feed(None))

    run_id = new_run(sessions, str(tmp_path))
    sender.drain()

    assert (queue.sent, passes) == ([run_id], [0])
    assert outbox.dispatch(sessions, queue, at=now() + timedelta(hours=1)) == 0  # it was marked


def test_a_trigger_whose_sender_died_before_sending_goes_out_when_its_lease_runs_out(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    sessions.configure(info={runs.SENDS_WITHIN: outbox.LEASE_SECONDS})  # a sender, never called
    run_id = new_run(sessions, str(tmp_path))
    queue = Recording()

    assert outbox.dispatch(sessions, queue) == 0
    lease_over = now() + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert outbox.dispatch(sessions, queue, at=lease_over) == 1
    assert queue.sent == [run_id]


def test_a_trigger_that_cannot_be_sent_is_handed_to_the_dispatcher_at_once_with_the_error(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    def down() -> None:
        raise ConnectionError("broker unreachable")

    sender = outbox.send_on_commit(sessions, Recording(down), Feed(None))
    run_id = new_run(sessions, str(tmp_path))
    sender.drain()

    with sessions() as session:
        (message,) = session.scalars(select(models.OutboxMessage)).all()
        assert message.dispatched_at is None and message.send_after is None
        assert "broker unreachable" in (message.last_error or "")
    queue = Recording()
    assert outbox.dispatch(sessions, queue) == 1
    assert queue.sent == [run_id]


def test_a_trigger_writes_its_run_and_one_message_that_names_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        project = projects.create(session, name="p", repository_url=str(tmp_path),
                                  default_branch="trunk")  # fmt: skip
        run = lifecycle.queue(session, project.id, "push", priority="low")
        branch = lifecycle.queue(session, project.id, "manual", ref="feature")
        with pytest.raises(NotFoundError, match="project 999 not found"):
            lifecycle.queue(session, 999, "manual")

    with sessions() as session:
        stored = runs.get(session, run.id)
        assert (stored.ref, stored.priority, stored.status, stored.trigger) == (
            "trunk", "low", "queued", "push")  # fmt: skip
        assert (stored.progress, stored.attempts, stored.cancel_requested, stored.summary) == (
            0, 0, False, {})  # fmt: skip
        assert stored.queued_at is not None and runs.get(session, branch.id).ref == "feature"
        messages = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id))
        assert [m.payload for m in messages] == [
            {"run_id": run.id, "priority": "low", "job_id": stored.job_id},
            {"run_id": branch.id, "priority": "default", "job_id": branch.job_id},
        ]
        assert session.scalar(select(func.count()).select_from(models.Run)) == 2


def test_heartbeats_that_change_nothing_publish_no_progress_events(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run_id, hub = new_run(sessions, str(tmp_path)), MemoryHub()
    with sessions() as session:
        project_id = runs.get(session, run_id).project_id
    observer = pipeline.RunObserver(sessions, run_id, project_id, Feed(hub), interval=0)

    observer.stage("analyze")
    for _ in range(5):
        observer.should_abort()  # a heartbeat
    observer.progress(1, 4, "a.py")
    observer.progress(1, 4, "a.py")
    observer.progress(2, 4, "b.py")

    said = [(e.type, e.data.get("percent")) for e in hub.history(f"run:{run_id}").events]
    assert said == [("run.progress", 0), ("run.step", None), ("run.progress", 25),
                    ("run.progress", 50)]  # fmt: skip


def test_progress_reported_right_after_a_heartbeat_still_reaches_the_run(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run_id = new_run(sessions, str(tmp_path))
    observer = pipeline.RunObserver(sessions, run_id, interval=3600)  # one write an hour
    observer.stage("analyze")
    seen = []
    for done in range(1, 5):
        observer.progress(done, 4, f"batch {done}")  # swallowed by the interval...
        observer.stage("analyze")  # ...until the next write, which carries it
        with sessions() as session:
            seen.append(runs.get(session, run_id).progress)
    assert seen == [25, 50, 75, 99]


def test_a_renamed_file_keeps_its_findings_from_one_run_to_the_next(
    sessions: sessionmaker[Session], settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    repo = make_repo()
    code = "import subprocess\n\n\ndef run(c):\n    subprocess.call(c, shell=True)\n"
    repo.commit({"app/runner.py": code})
    with sessions.begin() as session:
        project = projects.create(session, name="renames", repository_url=str(repo.path))

    def scanned() -> list[tuple[str, str, str]]:
        with sessions.begin() as session:
            run_id = lifecycle.queue(session, project.id, "manual").id
        assert pipeline.execute(run_id, settings, sessions) == "completed"
        with sessions() as session:
            rows = session.scalars(select(models.Finding).where(models.Finding.run_id == run_id))
            return sorted((row.path, row.rule_id, row.state) for row in rows)

    first = scanned()
    repo.git("mv", "app/runner.py", "app/commands.py")
    repo.commit({}, "rename")
    second = scanned()
    assert first and [state for _, _, state in first] == ["new"] * len(first)
    assert [(path, state) for path, _, state in second] == [("app/commands.py", "existing")] * len(
        first
    )  # neither new nor fixed: the same findings, moved


def test_the_pdf_of_a_run_shows_the_projects_score_trend(
    sessions: sessionmaker[Session], settings: Settings, make_repo: Callable[..., Repo]
) -> None:
    import pypdfium2

    repo = make_repo()
    repo.commit({"README.md": "# trend\n"})
    with sessions.begin() as session:
        project = projects.create(session, name="trend", repository_url=str(repo.path))
    ids = []
    for code in ("x = 1\n", "import subprocess\nsubprocess.call(x, shell=True)\n"):
        repo.commit({"app.py": code})
        with sessions.begin() as session:
            ids.append(lifecycle.queue(session, project.id, "manual").id)
        assert pipeline.execute(ids[-1], settings, sessions) == "completed"
    assert rendering.render(ids[-1], settings, sessions) == ["pdf"]

    pdf = pypdfium2.PdfDocument(str(rendering.directory(settings, ids[-1]) / "report.pdf"))
    text = pdf[0].get_textpage().get_text_range()
    assert "Trend" in text and f"run {ids[0]}" in text and f"run {ids[1]}" in text
    assert "100 A" in text  # the first run's score, before the shell call came in


def test_a_run_queued_where_nobody_could_announce_it_is_announced_as_it_is_dispatched(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    hub = MemoryHub()
    run_id = new_run(sessions, str(tmp_path))  # as `repolens refresh` writes it: no sender
    assert outbox.dispatch(sessions, Recording(), feed=Feed(hub)) == 1
    queued = [e.type for e in hub.history(f"run:{run_id}").events]
    assert queued == ["run.queued"]

    sessions.configure(info={runs.SENDS_WITHIN: outbox.LEASE_SECONDS})  # a sender announced it
    leased = new_run(sessions, str(tmp_path))
    lease_over = now() + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert outbox.dispatch(sessions, Recording(), at=lease_over, feed=Feed(hub)) == 1
    assert hub.history(f"run:{leased}").events == []  # not announced a second time


def test_the_embedded_dispatcher_reaps_a_run_whose_heartbeat_went_quiet(
    sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    from repolens.jobs.runtime import JobRuntime

    quiet = settings.model_copy(update={"heartbeat_stale_seconds": 1})
    run_id = new_run(sessions, str(tmp_path))
    with sessions.begin() as session:
        run = runs.get(session, run_id)
        run.status, run.attempts, run.heartbeat_at = "running", 1, now() - timedelta(minutes=5)
    embedded = JobRuntime(quiet, sessions)
    embedded.queue = Recording()
    embedded.tick({})  # one pass, as the dispatcher thread makes them
    assert runs.get_status(sessions, run_id) == "queued"
    assert embedded.queue.sent == [run_id]  # and sent again by the same pass's outbox
