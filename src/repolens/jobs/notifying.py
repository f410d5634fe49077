"""The notify job: a signed POST to the project's notify URL when one of its
runs ends, on a queue of its own. The body is JSON; with `REPOLENS_NOTIFY_SECRET`
set, `X-Repolens-Signature-256: sha256=<hex>` is the HMAC-SHA256 of exactly
those bytes. Transient failures (no connection, a timeout, 408, 429, 5xx) raise
DeliveryFailed and are retried with backoff; any other answer is final."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from repolens import __version__
from repolens.errors import DeliveryFailed
from repolens.realtime.events import TERMINAL
from repolens.settings import Settings
from repolens.storage import runs
from repolens.storage.models import Project, Run

log = logging.getLogger(__name__)

SIGNATURE = "X-Repolens-Signature-256"


def deliver(run_id: int, settings: Settings, sessions: sessionmaker[Session]) -> int | None:
    """POST the notice of RUN_ID's end; returns the answer's status code (None
    when the project has no notify URL)."""
    with sessions() as session:
        run = runs.get(session, run_id)
        url = run.project.notify_url
        if not url:
            return None
        event = TERMINAL.get(run.status, f"run.{run.status}")
        body = json.dumps(notice(run, run.project, event), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": f"repolens/{__version__}",
                   "X-Repolens-Event": event,
                   "X-Repolens-Delivery": f"run-{run.id}-{run.attempts}-{run.status}"}  # fmt: skip
    if settings.notify_secret:
        headers[SIGNATURE] = sign(settings.notify_secret, body)
    try:
        answer = httpx.post(url, content=body, headers=headers,
                            timeout=settings.notify_timeout_seconds)  # fmt: skip
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"notifying {url}: {type(exc).__name__}: {exc}") from exc
    if answer.status_code in (408, 429) or answer.status_code >= 500:
        raise DeliveryFailed(f"notifying {url}: answered {answer.status_code}")
    if answer.status_code >= 300:
        log.warning("notifying %s: refused with %s; not retried", url, answer.status_code)
    return answer.status_code


def deliver_retrying(
    run_id: int, settings: Settings, sessions: sessionmaker[Session], attempts: int = 5
) -> int | None:
    """`deliver`, retried in this thread with exponential backoff and jitter (the
    embedded runner; Celery retries the task instead)."""
    for attempt in range(attempts):
        try:
            return deliver(run_id, settings, sessions)
        except DeliveryFailed as exc:
            if attempt == attempts - 1:
                raise
            pause = settings.notify_retry_seconds * 2**attempt * random.uniform(0.5, 1.0)
            log.info("%s; again in %.1fs", exc, pause)
            time.sleep(pause)
    return None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notice(run: Run, project: Project, event: str) -> dict[str, Any]:
    moments = {"queued_at": run.queued_at, "started_at": run.started_at,
               "finished_at": run.finished_at}  # fmt: skip
    about_run = {"id": run.id, "status": run.status, "trigger": run.trigger, "ref": run.ref,
                 "commit": run.commit_sha, "error": run.error, "summary": run.summary}  # fmt: skip
    for name, moment in moments.items():
        about_run[name] = moment.isoformat() if moment else None
    about_project = {"id": project.id, "name": project.name, "url": project.repository_url}
    return {"event": event, "project": about_project, "run": about_run}
