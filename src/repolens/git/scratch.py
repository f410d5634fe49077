"""Scratch directories for checkouts, under one root in the data directory.

Each directory is held by a lock on a file beside it for as long as its owner
uses it; the lock goes with the process, however it ends. `sweep` (at start)
removes every directory whose lock nobody holds: what a killed process left."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "checkout-"


class Scratch:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def directory(self) -> Iterator[Path]:
        """A fresh empty directory, removed afterwards."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{PREFIX}{uuid.uuid4().hex}"
        # The lock exists, and is held, before the directory does: a sweep
        # never finds a directory whose owner has not locked it yet.
        descriptor = os.open(path.with_suffix(".lock"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            path.mkdir(mode=0o700)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(OSError):
                path.with_suffix(".lock").unlink()
            os.close(descriptor)

    def sweep(self) -> list[Path]:
        """Remove the directories no living process holds; returns them."""
        if not self.root.is_dir():
            return []
        removed = []
        for path in sorted(self.root.glob(f"{PREFIX}*")):
            if path.suffix == ".lock" or not path.is_dir():
                continue
            if self._abandoned(path):
                shutil.rmtree(path, ignore_errors=True)
                with contextlib.suppress(OSError):
                    path.with_suffix(".lock").unlink()
                removed.append(path)
        return removed

    @staticmethod
    def _abandoned(path: Path) -> bool:
        try:
            descriptor = os.open(path.with_suffix(".lock"), os.O_CREAT | os.O_WRONLY, 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: its owner is alive
        finally:
            os.close(descriptor)
        return True
