"""A worker whose scan of a project named "stuck" ignores its cancel flag, as a
hung engine would: `python -m tests.e2e.stuck_worker NAME`."""

from __future__ import annotations

import sys
import time
from typing import Any

from repolens import scan
from repolens.jobs.backends import celery
from repolens.reports.model import Report
from repolens.settings import Settings


def scanner(request: scan.ScanRequest, settings: Settings, **kwargs: Any) -> Report:
    if request.location.endswith("stuck"):
        time.sleep(600)
    return scan.run(request, settings, **kwargs)


if __name__ == "__main__":
    app = celery.create(Settings(), scanner=scanner)
    app.worker_main(["worker", "--concurrency", "1", "--loglevel", "INFO", "--hostname",
                     f"{sys.argv[1]}@e2e", "--without-gossip", "--without-mingle"])  # fmt: skip
