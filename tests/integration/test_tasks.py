"""Every kind of job is declared once, in the task registry: Celery, beat, the
embedded queue and the outbox all work from it."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from repolens.errors import DeliveryFailed
from repolens.jobs import periodic, tasks
from repolens.jobs.backends import celery
from repolens.jobs.backends.local import LocalQueue
from repolens.jobs.tasks import Retry, Task
from repolens.settings import Settings


def test_celery_registers_every_task_with_its_retry_policy_and_beat_every_periodic_work(
    tmp_path: Path,
) -> None:
    settings = Settings(broker_url="redis://127.0.0.1:6379/15", data_dir=tmp_path,
                        notify_retry_seconds=3)  # fmt: skip
    app = celery.create(settings)

    for task in tasks.TASKS.values():
        registered = app.tasks[task.name]
        policy = task.retry(settings)
        assert registered.autoretry_for == policy.on
        assert registered.max_retries == policy.attempts - 1
    assert app.tasks[tasks.NOTIFY.name].retry_backoff == 3
    schedule = app.conf.beat_schedule
    assert {entry["task"]: entry["schedule"] for entry in schedule.values()} == {
        work.name: work.period for work in periodic.PERIODIC
    }
    assert all(work.name in app.tasks for work in periodic.PERIODIC)


def test_a_new_kind_of_job_is_one_entry_in_the_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    done: list[dict[str, Any]] = []
    review = Task("repolens.review", lambda context, payload: done.append(payload), "report",
                  lambda settings: Retry(on=(DeliveryFailed,)))  # fmt: skip
    monkeypatch.setitem(tasks.TASKS, review.name, review)

    app = celery.create(Settings(broker_url="redis://127.0.0.1:6379/15", data_dir=tmp_path))
    local = LocalQueue(lambda task, payload: task.body(None, payload), workers=1)  # type: ignore[arg-type]
    local.start()
    try:
        local.send(tasks.named("repolens.review"), {"run_id": 3})
        deadline = time.monotonic() + 10
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        local.stop()

    assert review.name in app.tasks
    assert done == [{"run_id": 3}]


def test_a_job_that_fails_for_a_moment_is_put_back_after_its_pause_without_holding_a_slot() -> None:
    tries: list[float] = []
    other_ran = threading.Event()
    finished = threading.Event()

    def run(task: Task, payload: dict[str, Any]) -> None:
        if payload["run_id"] == 2:
            other_ran.set()
            return
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise DeliveryFailed("the receiver answered 503")
        finished.set()

    policy = Retry(on=(DeliveryFailed,), attempts=5, first=0.2, ceiling=1.0)
    queue = LocalQueue(run, workers=1, policy=lambda task: policy)
    queue.start()
    try:
        queue.send(tasks.NOTIFY, {"run_id": 1})
        queue.send(tasks.NOTIFY, {"run_id": 2})
        assert other_ran.wait(5)  # the one slot was free while the first waited
        assert finished.wait(10)
    finally:
        queue.stop()

    assert len(tries) == 3
    pauses = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert pauses[0] >= 0.1 and pauses[1] >= 0.2  # 50-100 % of 0.2 s, then of 0.4 s


def test_a_job_is_tried_no_more_than_its_policy_allows_and_other_errors_are_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries: dict[int, int] = {1: 0, 2: 0}

    def run(task: Task, payload: dict[str, Any]) -> None:
        tries[payload["run_id"]] += 1
        if payload["run_id"] == 1:
            raise DeliveryFailed("still down")
        raise ValueError("a bug: retrying would not help")

    policy = Retry(on=(DeliveryFailed,), attempts=2, first=0.05, ceiling=0.05)
    queue = LocalQueue(run, workers=2, policy=lambda task: policy)
    queue.start()
    try:
        queue.send(tasks.NOTIFY, {"run_id": 2})
        queue.send(tasks.NOTIFY, {"run_id": 1})
        deadline = time.monotonic() + 10  # until both are given up, as the log says
        while time.monotonic() < deadline and not (
            "failed after 2 tries" in caplog.text and "a bug" in caplog.text
        ):
            time.sleep(0.01)
    finally:
        queue.stop()

    assert tries == {1: 2, 2: 1}
    assert queue.retrying() == 0
