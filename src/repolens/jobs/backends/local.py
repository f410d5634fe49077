"""The embedded queue: a priority heap and a bounded pool of threads in this
process; report renderings come after every waiting scan. Nothing is lost on
a restart, because nothing lives only here: on start, `recover` queues again
every run the database says is waiting or was running when the process stopped,
and the dispatcher sends again what it had not."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from repolens.jobs.queue import NOTIFY_QUEUE, PRIORITY_RANK, REPORT_QUEUE

RANK = {**PRIORITY_RANK, NOTIFY_QUEUE: len(PRIORITY_RANK), REPORT_QUEUE: len(PRIORITY_RANK) + 1}
ERRANDS = {RANK[NOTIFY_QUEUE]: NOTIFY_QUEUE, RANK[REPORT_QUEUE]: REPORT_QUEUE}  # not scans

log = logging.getLogger(__name__)


class LocalQueue:
    backend = "local"

    def __init__(
        self,
        execute: Callable[[int], object],
        workers: int = 2,
        render: Callable[[int], object] = lambda run_id: None,
        notify: Callable[[int], object] = lambda run_id: None,
    ) -> None:
        self._execute = execute
        self._errands = {REPORT_QUEUE: render, NOTIFY_QUEUE: notify}
        self._heap: list[tuple[int, int, int]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"repolens-worker-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self.running: set[int] = set()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def enqueue(self, run_id: int, priority: str, job_id: str | None = None) -> str:
        with self._ready:
            waiting = any(entry[2] == run_id and entry[0] not in ERRANDS
                          for entry in self._heap)  # fmt: skip
            if not waiting and run_id not in self.running:
                self._push(RANK[priority], run_id)
        return f"local-{run_id}"

    def render(self, run_id: int) -> None:
        with self._ready:
            self._push(RANK[REPORT_QUEUE], run_id)

    def notify(self, run_id: int) -> None:
        with self._ready:
            self._push(RANK[NOTIFY_QUEUE], run_id)

    def _push(self, rank: int, run_id: int) -> None:
        heapq.heappush(self._heap, (rank, next(self._order), run_id))
        self._ready.notify()

    def cancel(self, run_id: int, job_id: str | None = None) -> bool:
        with self._ready:
            kept = [entry for entry in self._heap
                    if entry[2] != run_id or entry[0] in ERRANDS]  # fmt: skip
            if len(kept) == len(self._heap):
                return False
            self._heap = kept
            heapq.heapify(self._heap)
            return True

    def terminate(self, job_id: str) -> bool:
        return False  # a thread cannot be stopped from outside: cancellation is cooperative

    def depth(self) -> dict[str, int]:
        with self._ready:
            counts = dict.fromkeys(RANK, 0)
            names = {rank: name for name, rank in RANK.items()}
            for rank, _, _ in self._heap:
                counts[names[rank]] += 1
            return counts

    def workers(self) -> dict[str, list[str]]:
        return {thread.name: list(RANK) for thread in self._threads if thread.is_alive()}

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._heap and not self._stopping:
                    self._ready.wait()
                if self._stopping:
                    return
                rank, _, run_id = heapq.heappop(self._heap)
                errand = ERRANDS.get(rank)
                if errand is None:
                    self.running.add(run_id)
            try:
                (self._errands[errand] if errand else self._execute)(run_id)
            except Exception:  # the job failed on its own; this thread goes on with the next
                log.exception("%s job of run %s failed", errand or "scan", run_id)
            finally:
                if errand is None:
                    with self._ready:
                        self.running.discard(run_id)
