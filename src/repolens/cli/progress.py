"""Showing a scan's progress: a live bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class QuietObserver:
    """Shows nothing; the base of the observers that do."""

    def __enter__(self) -> QuietObserver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def stage(self, name: str) -> None:
        return None

    def progress(self, done: int, total: int, message: str) -> None:
        return None


class BarObserver(QuietObserver):
    """A Rich progress bar for an interactive terminal."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("starting", total=None, detail="")

    def __enter__(self) -> BarObserver:
        self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.stop()

    def stage(self, name: str) -> None:
        self.bar.update(self.task, description=name, detail="")

    def progress(self, done: int, total: int, message: str) -> None:
        self.bar.update(self.task, completed=done, total=total, detail=message)


class LineObserver(QuietObserver):
    """Plain lines for logs and CI: each stage, and progress every 10% or 5 s."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last_percent = -10
        self.last_time = 0.0

    def stage(self, name: str) -> None:
        self.console.print(f"stage: {name}", highlight=False)

    def progress(self, done: int, total: int, message: str) -> None:
        percent = 100 * done // max(total, 1)
        now = time.monotonic()
        if percent >= self.last_percent + 10 or now - self.last_time >= 5 or done == total:
            self.last_percent, self.last_time = percent, now
            self.console.print(f"progress: {done}/{total} ({percent}%) {message}", highlight=False)


def observer_for(console: Console, quiet: bool) -> QuietObserver:
    if quiet:
        return QuietObserver()
    return BarObserver(console) if console.is_terminal else LineObserver(console)
