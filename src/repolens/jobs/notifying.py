"""The notify job: a signed POST to the project's notify URL when one of its
runs ends, on a queue of its own, through the outbound guard.

Signed as Standard Webhooks are: `webhook-id` (the same on every retry),
`webhook-timestamp` (seconds) and, with `REPOLENS_NOTIFY_SECRET` set,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so a
receiver can refuse a replayed or altered notice. A secret `whsec_<base64>` is
used as the key it encodes (as the Standard Webhooks libraries do), any other
as its UTF-8 bytes. Transient failures (no connection, a timeout, 408, 429,
5xx) raise DeliveryFailed and are retried with backoff; any other answer, and
a target the guard refuses, is final."""

from __future__ import annotations

import base64
import binascii
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
from repolens.errors import DeliveryFailed, Refused
from repolens.git.mirror import redact
from repolens.realtime.events import TERMINAL
from repolens.security.outbound import OutboundPolicy
from repolens.settings import Settings
from repolens.storage import runs
from repolens.storage.models import Project, Run

log = logging.getLogger(__name__)

SIGNATURE = "webhook-signature"


def deliver(run_id: int, settings: Settings, sessions: sessionmaker[Session]) -> int | None:
    """POST the notice of RUN_ID's end; returns the answer's status code (None
    when the project has no notify URL, or the guard refused its target)."""
    with sessions() as session:
        run = runs.find(session, run_id)
        url = run.project.notify_url if run is not None else None  # gone with its project
        if run is None or not url:
            return None
        event = TERMINAL.get(run.status, f"run.{run.status}")
        body = json.dumps(notice(run, run.project, event), separators=(",", ":")).encode()
        delivery = f"run-{run.id}-{run.attempts}-{run.status}"
    headers = {"Content-Type": "application/json", "User-Agent": f"repolens/{__version__}",
               "X-Repolens-Event": event,
               **signed(delivery, int(time.time()), body, settings)}  # fmt: skip
    try:
        guard = OutboundPolicy.of(settings)
        answer = guard.post(url, content=body, headers=headers,
                            timeout=settings.notify_timeout_seconds)  # fmt: skip
    except Refused as exc:
        log.warning("notifying run %s: %s; not sent", run_id, exc)
        return None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"notifying {url}: {type(exc).__name__}: {exc}") from exc
    if answer.status_code in (408, 429) or answer.status_code >= 500:
        raise DeliveryFailed(f"notifying {url}: answered {answer.status_code}")
    if answer.status_code >= 300:
        log.warning("notifying %s: refused with %s; not retried", url, answer.status_code)
    return answer.status_code


ATTEMPTS = 5  # deliveries of one notice the embedded runtime tries


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds before try ATTEMPT + 1: exponential, with jitter."""
    return float(settings.notify_retry_seconds * 2**attempt * random.uniform(0.5, 1.0))


def signed(delivery: str, timestamp: int, body: bytes, settings: Settings) -> dict[str, str]:
    """The Standard Webhooks headers of BODY sent as DELIVERY at TIMESTAMP."""
    headers = {"webhook-id": delivery, "webhook-timestamp": str(timestamp)}
    if settings.notify_secret is not None:
        key = signing_key(settings.notify_secret.get_secret_value())
        signed_content = f"{delivery}.{timestamp}.".encode() + body
        digest = hmac.new(key, signed_content, hashlib.sha256).digest()
        headers[SIGNATURE] = "v1," + base64.b64encode(digest).decode()
    return headers


def signing_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def notice(run: Run, project: Project, event: str) -> dict[str, Any]:
    moments = {"queued_at": run.queued_at, "started_at": run.started_at,
               "finished_at": run.finished_at}  # fmt: skip
    about_run = {"id": run.id, "status": run.status, "trigger": run.trigger, "ref": run.ref,
                 "commit": run.commit_sha, "error": run.error, "summary": run.summary}  # fmt: skip
    for name, moment in moments.items():
        about_run[name] = moment.isoformat() if moment else None
    about_project = {"id": project.id, "name": project.name,
                     "url": redact(project.repository_url)}  # fmt: skip
    return {"event": event, "project": about_project, "run": about_run}
