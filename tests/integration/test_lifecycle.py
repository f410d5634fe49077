"""A run changes state only through the lifecycle: each transition writes the
row, asks for what follows (the report, the notice) and, once committed, tells
live clients; one `trigger` answers every kind of request for a scan."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.jobs import lifecycle, tasks
from repolens.realtime.backends.memory import MemoryHub
from repolens.realtime.feed import Feed
from repolens.storage import models, projects, runs
from repolens.storage.models import Run, RunStatus, now

NOTIFY_URL = "https://example.org/n"


def project_id(sessions: sessionmaker[Session], notify: str | None = NOTIFY_URL) -> int:
    with sessions.begin() as session:
        made = projects.create(session, name="p", repository_url="file:///repo",
                               default_branch="main", notify_url=notify)  # fmt: skip
        return made.id


def topics(sessions: sessionmaker[Session], run_id: int) -> list[str]:
    with sessions() as session:
        rows = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id))
        return [row.topic for row in rows if row.payload.get("run_id") == run_id]


def heard(hub: MemoryHub, run_id: int) -> list[str]:
    return [event.type for event in hub.history(f"run:{run_id}").events]


def test_a_run_from_trigger_to_completion_is_told_once_per_transition_and_asks_for_what_follows(
    sessions: sessionmaker[Session],
) -> None:
    hub, pid = MemoryHub(), project_id(sessions)
    feed = Feed(hub)
    with lifecycle.changing(sessions, feed) as session:
        queued, new = lifecycle.trigger(session, pid, "manual")
    with lifecycle.changing(sessions, feed) as session:
        started = lifecycle.start(session, queued.id, "w1", picked_up=now())
        assert started is not None
    with lifecycle.changing(sessions, feed) as session:
        lifecycle.complete(session, runs.get(session, queued.id), new=[])

    assert new and queued.priority == "high"  # a manual request goes first
    assert heard(hub, queued.id) == ["run.queued", "run.started", "run.completed"]
    assert topics(sessions, queued.id) == ["repolens.scan", "repolens.report", "repolens.notify"]
    with sessions() as session:
        run = runs.get(session, queued.id)
        assert (run.status, run.progress, run.worker, run.attempts) == ("completed", 100, "w1", 1)


def test_a_transaction_that_rolls_back_tells_no_one(sessions: sessionmaker[Session]) -> None:
    hub, pid = MemoryHub(), project_id(sessions)
    with pytest.raises(RuntimeError), lifecycle.changing(sessions, Feed(hub)) as session:
        lifecycle.trigger(session, pid, "manual")
        raise RuntimeError("the request failed after the trigger")

    assert hub.history("global").events == []
    with sessions() as session:
        assert session.scalars(select(Run)).all() == []


@pytest.mark.parametrize("ending", ["fail", "cancel"])
def test_every_way_a_run_ends_asks_for_the_notice_and_is_told(
    sessions: sessionmaker[Session], ending: str
) -> None:
    hub, pid = MemoryHub(), project_id(sessions)
    with lifecycle.changing(sessions, Feed(hub)) as session:
        run = lifecycle.queue(session, pid, "manual")
    with lifecycle.changing(sessions, Feed(hub)) as session:
        lifecycle.start(session, run.id, "w1", picked_up=now())
    with lifecycle.changing(sessions, Feed(hub)) as session:
        running = runs.get(session, run.id)
        if ending == "fail":
            lifecycle.fail(session, running, "boom")
        else:
            lifecycle.cancel(session, running, "asked to")

    expected = {"fail": ("failed", "run.failed"), "cancel": ("cancelled", "run.cancelled")}
    assert runs.get_status(sessions, run.id) == expected[ending][0]
    assert heard(hub, run.id)[-1] == expected[ending][1]
    assert topics(sessions, run.id)[-1] == tasks.NOTIFY.name


def test_a_project_without_a_notify_url_is_not_sent_notices(
    sessions: sessionmaker[Session],
) -> None:
    pid = project_id(sessions, notify=None)
    with lifecycle.changing(sessions, Feed(None)) as session:
        run = lifecycle.queue(session, pid, "manual")
        lifecycle.cancel(session, run, "asked to")

    assert topics(sessions, run.id) == [tasks.SCAN.name]


def test_a_superseded_push_is_told_as_cancelled(sessions: sessionmaker[Session]) -> None:
    hub, pid = MemoryHub(), project_id(sessions)
    with lifecycle.changing(sessions, Feed(hub)) as session:
        older, _ = lifecycle.trigger(session, pid, "push", ref="main")
    with lifecycle.changing(sessions, Feed(hub)) as session:
        newer, _ = lifecycle.trigger(session, pid, "push", ref="main")

    assert runs.get_status(sessions, older.id) == RunStatus.SUPERSEDED
    assert heard(hub, older.id) == ["run.queued", "run.cancelled"]
    assert heard(hub, newer.id) == ["run.queued"]


def test_a_manual_request_while_the_same_ref_waits_is_answered_by_the_waiting_run(
    sessions: sessionmaker[Session],
) -> None:
    pid = project_id(sessions)
    with sessions.begin() as session:
        first, first_new = lifecycle.trigger(session, pid, "manual", requested_by="ann")
    with sessions.begin() as session:
        again, again_new = lifecycle.trigger(session, pid, "manual", requested_by="bob")
        other, other_new = lifecycle.trigger(session, pid, "manual", "feature")

    assert (first_new, again_new, other_new) == (True, False, True)
    assert again.id == first.id and other.id != first.id
    with sessions() as session:
        asked = session.scalars(select(models.RefreshRequest.requested_by)
                                .where(models.RefreshRequest.run_id == first.id)).all()  # fmt: skip
    assert sorted(asked) == ["ann", "bob"]


def test_a_run_asked_to_cancel_before_it_started_does_not_start(
    sessions: sessionmaker[Session],
) -> None:
    hub, pid = MemoryHub(), project_id(sessions)
    with lifecycle.changing(sessions, Feed(hub)) as session:
        run = lifecycle.queue(session, pid, "schedule")
        run.cancel_requested = True
    with lifecycle.changing(sessions, Feed(hub)) as session:
        assert lifecycle.start(session, run.id, "w1", picked_up=now()) is None

    assert run.priority == "default"  # queue takes the priority it is given, no policy
    assert runs.get_status(sessions, run.id) == "cancelled"
    assert heard(hub, run.id) == ["run.queued", "run.cancelled"]


def test_a_retried_run_starts_over_with_a_fresh_job(sessions: sessionmaker[Session]) -> None:
    hub, pid = MemoryHub(), project_id(sessions, notify=None)
    with lifecycle.changing(sessions, Feed(hub)) as session:
        run = lifecycle.queue(session, pid, "manual")
        lifecycle.fail(session, run, "boom")
    first_job = run.job_id
    with lifecycle.changing(sessions, Feed(hub)) as session:
        failed = runs.get(session, run.id)
        lifecycle.requeue(session, failed, step=None)

    with sessions() as session:
        again = runs.get(session, run.id)
        assert (again.status, again.error, again.finished_at) == ("queued", None, None)
        assert again.job_id != first_job
    assert heard(hub, run.id) == ["run.queued", "run.failed", "run.queued"]
    assert topics(sessions, run.id) == [tasks.SCAN.name, tasks.SCAN.name]
