"""Events about runs, derived from the run row after its change is committed.

A run's events go to `run:<id>` and `project:<id>`; its queued, started and
terminal events to `global` as well (the dashboard). Publishing never fails a
run: the database is the truth, and a client that missed events refetches."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from repolens.realtime.events import TERMINAL
from repolens.realtime.hub import Hub, Publication
from repolens.storage.models import Run

log = logging.getLogger(__name__)

COARSE = {"run.queued", "run.started", *TERMINAL.values()}
FINDINGS_PER_BATCH = 100


class Feed:
    def __init__(self, hub: Hub | None, gathering: list[Publication] | None = None) -> None:
        self.hub = hub
        self._gathering = gathering

    @contextlib.contextmanager
    def gathered(self) -> Iterator[Feed]:
        """A feed whose events go out together as the block ends: one round trip
        to a shared hub for all the events of a committed transaction."""
        gathering: list[Publication] = []
        yield Feed(self.hub, gathering)
        if self.hub is None or not gathering:
            return
        try:
            self.hub.publish_all(gathering)
        except Exception as exc:  # the event bus is away: what it tells of goes on
            log.warning("%d events not published: %s", len(gathering), exc)

    def queued(self, run: Run) -> None:
        self._run(run, "run.queued", priority=run.priority, trigger=run.trigger, ref=run.ref)

    def started(self, run: Run) -> None:
        self._run(run, "run.started", attempt=run.attempts, worker=run.worker)

    def step(self, run_id: int, project_id: int, name: str) -> None:
        self._send(run_id, project_id, "run.step", {"step": name})

    def progress(self, run_id: int, project_id: int, **data: Any) -> None:
        self._send(run_id, project_id, "run.progress", data)

    def findings(self, run: Run, new: list[dict[str, Any]]) -> None:
        for start in range(0, len(new), FINDINGS_PER_BATCH):
            batch = new[start : start + FINDINGS_PER_BATCH]
            self._run(run, "run.finding_batch", findings=batch)

    def finished(self, run: Run) -> None:
        self._run(run, TERMINAL[run.status], error=run.error, summary=run.summary)

    def delivery(self, project_id: int, data: dict[str, Any]) -> None:
        """A forge's delivery about the project, recorded (and what became of it)."""
        self._publish("webhook.delivery", [f"project:{project_id}"],
                      {"project_id": project_id, **data}, f"project {project_id}")  # fmt: skip

    def _run(self, run: Run, type: str, **data: Any) -> None:
        data = {"status": run.status, "progress": run.progress, **data}
        self._send(run.id, run.project_id, type, data)

    def _send(self, run_id: int, project_id: int, type: str, data: dict[str, Any]) -> None:
        data = {"run_id": run_id, "project_id": project_id, **data}
        channels = [f"run:{run_id}", f"project:{project_id}"]
        if type in COARSE:
            channels.append("global")
        self._publish(type, channels, data, f"run {run_id}")

    def _publish(self, type: str, channels: list[str], data: dict[str, Any], about: str) -> None:
        if self.hub is None:
            return
        if self._gathering is not None:
            self._gathering.append(Publication(type, channels, data))
            return
        try:
            self.hub.publish(type, channels, data)
        except Exception as exc:  # the event bus is away: what it tells of goes on
            log.warning("event %s of %s not published: %s", type, about, exc)
