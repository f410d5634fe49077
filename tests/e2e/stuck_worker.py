"""A worker whose scan of a project named "stuck" ignores its cancel flag and its
soft time limit, as a hung engine would: `python -m tests.e2e.stuck_worker NAME`."""

from __future__ import annotations

import sys
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from repolens import scan
from repolens.jobs.backends import celery
from repolens.reports.model import Report
from repolens.settings import Settings


def scanner(request: scan.ScanRequest, settings: Settings, **kwargs: Any) -> Report:
    if request.location.endswith("stuck"):
        deaf()
    return scan.run(request, settings, **kwargs)


def deaf() -> None:
    """Hang, deaf to Celery's soft limit too, as an engine blocked in native code is."""
    until = time.monotonic() + 600
    while time.monotonic() < until:
        try:
            time.sleep(1)
        except SoftTimeLimitExceeded:
            continue


if __name__ == "__main__":
    app = celery.create(Settings(), scanner=scanner)
    app.worker_main(["worker", "--concurrency", "1", "--loglevel", "INFO", "--hostname",
                     f"{sys.argv[1]}@e2e", "--without-gossip", "--without-mingle"])  # fmt: skip
