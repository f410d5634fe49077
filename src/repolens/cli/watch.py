"""`repolens watch RUN|PROJECT`: follow a run (or a project's runs) live in the
terminal over the server's WebSocket, resuming after a dropped connection."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from repolens.cli import credentials
from repolens.settings import Settings

TERMINAL = {"run.completed": "green", "run.failed": "red", "run.cancelled": "yellow"}


def watch(
    target: Annotated[str, typer.Argument(help="A run id, or project:<id>.")],
    server: Annotated[str | None, typer.Option(help="ws://host:port (default: settings).")] = None,
) -> None:
    """Follow a run live: progress bar, steps, new findings; ends with the run."""
    from websockets.exceptions import ConnectionClosed, WebSocketException
    from websockets.sync.client import connect

    settings = Settings()
    channel = target if ":" in target else f"run:{target}"
    base = server or f"ws://{settings.api_host}:{settings.api_port}"
    token = credentials.token(settings)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    console = Console()
    # A run is shown from its start; a project from now on.
    last: tuple[str | None, int | None] = (None, 0 if channel.startswith("run:") else None)
    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"))  # fmt: skip
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(channel, total=100)
        for attempt in range(30):
            try:
                with connect(f"{base}/ws", additional_headers=headers, open_timeout=10) as socket:
                    socket.send(json.dumps({"type": "subscribe", "channel": channel,
                                            "last_seq": last[1], "epoch": last[0]}))  # fmt: skip
                    while True:
                        message = json.loads(socket.recv())
                        if message.get("type") == "error":
                            console.print(f"[red]error:[/] {message['message']}")
                            raise typer.Exit(2)
                        if "seq" in message and "v" in message:
                            last = (last[0], message["seq"])
                        elif message.get("type") == "subscribed":
                            last = (message["epoch"], last[1] or message["seq"])
                        if _show(console, bar, task, message) and channel.startswith("run:"):
                            return
            except (ConnectionClosed, WebSocketException, OSError) as exc:
                console.print(f"[yellow]connection lost ({exc}); reconnecting…[/]")
                time.sleep(min(0.5 * 2**attempt, 5.0))
        raise typer.Exit(1)


def _show(console: Console, bar: Progress, task: TaskID, message: dict[str, Any]) -> bool:
    """Print one message; True when the run it is about has ended."""
    kind, data = message.get("type"), message.get("data") or {}
    if kind == "snapshot" and "run" in data:
        run = data["run"]
        bar.update(task, completed=run["progress"], description=f"run {run['id']} {run['status']}")
        if f"run.{run['status']}" in TERMINAL:
            return _ended(console, f"run.{run['status']}", run)
    elif kind == "run.progress":
        bar.update(task, completed=data.get("percent", 0),
                   description=f"run {data['run_id']} {data.get('step', '')}")  # fmt: skip
    elif kind == "run.step":
        console.print(f"  step [bold]{data['step']}[/]")
    elif kind in ("run.queued", "run.started"):
        console.print(f"run {data['run_id']} {kind.split('.')[1]}")
    elif kind == "run.finding_batch":
        for finding in data.get("findings", []):
            console.print(f"  [magenta]new[/] {finding['severity']:<8} {finding['path']}:"
                          f"{finding.get('line') or ''} {finding['title']}")  # fmt: skip
    elif kind in TERMINAL:
        bar.update(task, completed=100 if kind == "run.completed" else data.get("progress", 0))
        return _ended(console, kind, data)
    return False


def _ended(console: Console, kind: str, data: dict[str, Any]) -> bool:
    summary = data.get("summary") or {}
    detail = data.get("error") or ""
    if summary:
        detail = (f"score {summary.get('score')} ({summary.get('grade')}), "
                  f"{summary.get('findings')} findings")  # fmt: skip
    console.print(f"[{TERMINAL[kind]}]{kind.split('.')[1]}[/] {detail}")
    return True
