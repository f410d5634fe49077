"""Real `repolens worker` processes for the tests that run distributed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from repolens.settings import Settings


def _environment(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment, pointed at the test's database, broker and data."""
    return {**os.environ, "REPOLENS_DATABASE_URL": settings.database,
            "REPOLENS_BROKER_URL": str(settings.broker),
            "REPOLENS_DATA_DIR": str(settings.data_dir), **extra}  # fmt: skip


def start_worker(settings: Settings, name: str, log: Path,
                 **extra: str) -> subprocess.Popen[bytes]:  # fmt: skip
    """A worker on SETTINGS' database and broker; EXTRA: more REPOLENS_* variables."""
    env = _environment(
        settings,
        **extra,
        REPOLENS_CACHE_DIR=str(settings.cache_dir / name),
        REPOLENS_RESULT_CACHE="false",
        REPOLENS_BROKER_VISIBILITY_TIMEOUT_SECONDS="10",
        REPOLENS_NOTIFY_SECRET=settings.notify_secret.get_secret_value()
        if settings.notify_secret
        else "",
        REPOLENS_NOTIFY_RETRY_SECONDS=str(settings.notify_retry_seconds),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "repolens", "worker", "--concurrency", "1", "--name", f"{name}@e2e"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def start_stuck_worker(
    settings: Settings, name: str, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    """A worker whose scans of projects named "stuck" hang (tests/e2e/stuck_worker.py);
    EXTRA: more REPOLENS_* variables."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.stuck_worker", name], env=_environment(settings, **extra),
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        cwd=Path(__file__).parents[1],
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
