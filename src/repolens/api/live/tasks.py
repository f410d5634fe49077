"""The seeds' task protocol on `/ws/tasks/{id}`: a run's events said as
`connected`, `progress`, `completed` and `failed` messages about one task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from repolens.realtime.events import TERMINAL, Event
from repolens.realtime.rooms import Message


def translator(task_id: int, encode: Callable[[dict[str, Any]], str]) -> Callable[
        [Message], list[str]]:  # fmt: skip
    """How each message for run TASK_ID is said in the task protocol."""

    def legacy(message: Message) -> list[str]:
        if isinstance(message, Event):
            said = said_of(task_id, message.type, message.data)
        elif message.get("type") != "snapshot":
            said = [message] if message.get("type") in ("pong", "error") else []
        else:
            run = message["data"]["run"]
            connected = {"type": "connected", "task_id": task_id, "status": run["status"],
                         "progress": run["progress"]}  # fmt: skip
            # A client that comes after the end still hears how it ended.
            ended = TERMINAL.get(run["status"])
            said = [connected, *(said_of(task_id, ended, run) if ended else [])]
        return [encode(each) for each in said]

    return legacy


def said_of(task_id: int, type: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """A run event as the task protocol says it (nothing, for the rest)."""
    if type in ("run.started", "run.progress", "run.step"):
        return [{"type": "progress", "task_id": task_id, "status": "running",
                 "progress": data.get("percent", data.get("progress", 0)),
                 "step": data.get("step"), "message": data.get("message")}]  # fmt: skip
    if type == "run.completed":
        return [{"type": "completed", "task_id": task_id, "result": data.get("summary")}]
    if type in ("run.failed", "run.cancelled"):
        return [{"type": "failed", "task_id": task_id, "status": data.get("status"),
                 "error": data.get("error") or data.get("status")}]  # fmt: skip
    return []
