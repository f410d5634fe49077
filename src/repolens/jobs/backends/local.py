"""The embedded queue: a priority heap and a bounded pool of threads in this
process, running the tasks of the registry. Scans come first, high priority
first, then notices, then report renderings. A task that fails in a way its
retry policy names is put back after its pause (a timer, not a waiting
thread), so no worker slot sits out a backoff.

Nothing is lost on a restart, because nothing lives only here: on start, the
runtime queues again every run the database says is waiting or was running
when the process stopped, and the dispatcher sends again what it had not."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repolens.jobs.tasks import QUEUES, Retry, Task

log = logging.getLogger(__name__)

RANK = {name: rank for rank, name in enumerate(QUEUES)}


@dataclass(order=True)
class Entry:
    rank: int
    order: int
    task: Task = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)

    @property
    def run_id(self) -> int | None:
        found = self.payload.get("run_id")
        return int(found) if found is not None else None


class LocalQueue:
    backend = "local"

    def __init__(
        self,
        run: Callable[[Task, dict[str, Any]], object],
        workers: int = 2,
        policy: Callable[[Task], Retry | None] = lambda task: None,
    ) -> None:
        self._run = run
        self._policy = policy
        self._heap: list[Entry] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._stopping = False
        self._timers: set[threading.Timer] = set()
        self._threads = [
            threading.Thread(target=self._work, name=f"repolens-worker-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self.running: set[tuple[str, int | None]] = set()  # exclusive tasks being run

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        for thread in self._threads:
            thread.join(timeout)

    def send(self, task: Task, payload: dict[str, Any]) -> str:
        entry = Entry(RANK[task.queue_for(payload)], next(self._order), task, payload)
        with self._ready:
            if not (task.exclusive and self._held(entry)):
                self._push(entry)
        return str(payload.get("job_id") or f"local-{entry.order}")

    def _held(self, entry: Entry) -> bool:
        """Whether the same exclusive task of the same run waits or runs already."""
        key = (entry.task.name, entry.run_id)
        return key in self.running or any(
            (waiting.task.name, waiting.run_id) == key for waiting in self._heap
        )

    def _push(self, entry: Entry) -> None:
        heapq.heappush(self._heap, entry)
        self._ready.notify()

    def cancel(self, run_id: int, job_id: str | None = None) -> bool:
        """Take back the waiting exclusive tasks (scans) of RUN_ID."""
        with self._ready:
            kept = [entry for entry in self._heap
                    if not (entry.task.exclusive and entry.run_id == run_id)]  # fmt: skip
            if len(kept) == len(self._heap):
                return False
            self._heap = kept
            heapq.heapify(self._heap)
            return True

    def terminate(self, job_id: str) -> bool:
        return False  # a thread cannot be stopped from outside: cancellation is cooperative

    def depth(self) -> dict[str, int]:
        with self._ready:
            counts = dict.fromkeys(QUEUES, 0)
            for entry in self._heap:
                counts[QUEUES[entry.rank]] += 1
            return counts

    def retrying(self) -> int:
        """Jobs waiting out the pause before their next try (not in `depth`)."""
        with self._ready:
            return sum(timer.is_alive() for timer in self._timers)

    def workers(self) -> dict[str, list[str]]:
        return {thread.name: list(QUEUES) for thread in self._threads if thread.is_alive()}

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._heap and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                entry = heapq.heappop(self._heap)
                key = (entry.task.name, entry.run_id)
                if entry.task.exclusive:
                    self.running.add(key)
            try:
                self._run(entry.task, entry.payload)
            except Exception as exc:  # the job failed on its own; this thread goes on
                self._failed(entry, exc)
            finally:
                if entry.task.exclusive:
                    with self._ready:
                        self.running.discard(key)

    def _failed(self, entry: Entry, exc: Exception) -> None:
        """Put ENTRY back after its pause when its policy retries EXC; else log it."""
        policy = self._policy(entry.task)
        retried = policy is not None and isinstance(exc, policy.on)
        if policy is None or not retried or entry.attempt + 1 >= policy.attempts:
            log.error("%s of %s failed%s: %s", entry.task.name, entry.payload,
                      f" after {entry.attempt + 1} tries" if retried else "", exc,
                      exc_info=not retried)  # fmt: skip
            return
        pause = policy.pause(entry.attempt, exc)
        log.info("%s of %s failed (%s); again in %.1f s", entry.task.name, entry.payload,
                 exc, pause)  # fmt: skip
        again = Entry(entry.rank, next(self._order), entry.task, entry.payload, entry.attempt + 1)
        timer = threading.Timer(pause, self._again, (again,))
        timer.daemon = True
        with self._ready:
            if self._stopping:
                return
            self._timers.add(timer)
        timer.start()

    def _again(self, entry: Entry) -> None:
        with self._ready:
            self._timers = {timer for timer in self._timers if timer.is_alive()}
            if not self._stopping:
                self._push(entry)
