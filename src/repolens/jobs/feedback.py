"""The feedback job: tell the forge a run of one of its commits started, or how
it ended. Asked for by the lifecycle when a run with a forge origin starts and
when it ends; it reads the run as it is when the job runs, so a late or repeated
job says the same thing again and creates nothing twice (what it created is
kept in the run's origin, and a pull request's comment is found from its
earlier runs)."""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repolens.errors import RepolensError
from repolens.forges import feedback, publishers
from repolens.forges.client import ForgeClient
from repolens.forges.feedback import Note
from repolens.forges.github_app import AppTokens
from repolens.git.credentials import Credentials
from repolens.security.outbound import OutboundPolicy
from repolens.settings import Settings
from repolens.storage import runs
from repolens.storage.models import TERMINAL, Finding, Project, Run

log = logging.getLogger(__name__)

_apps: dict[tuple[str, str, str], AppTokens] = {}  # one cache of installation tokens per app


def publish(run_id: int, settings: Settings, sessions: sessionmaker[Session],
            stage: str | None = None) -> str:  # fmt: skip
    """Send RUN_ID's feedback; returns what was said ("started", "finished"),
    or why nothing was ("no forge", "no credentials", "gone", "ended already":
    a STAGE "started" job that ran after the run ended leaves it to the next).
    One run's feedback jobs take turns in a process, so a "started" and an
    "ended" job at once cannot both create the check run or the comment."""
    with _TURNS[run_id % len(_TURNS)]:  # a few runs share a lock: bounded, and rarely waited on
        return _publish(run_id, settings, sessions, stage)


_TURNS = [threading.Lock() for _ in range(64)]


def _publish(run_id: int, settings: Settings, sessions: sessionmaker[Session],
             stage: str | None) -> str:  # fmt: skip
    with sessions() as session:
        run = runs.find(session, run_id)
        if run is None:
            return "gone"
        origin = dict(run.origin or {})
        repository = _on_forge(origin.get("forge"), run.project.repository_key, settings)
        if repository is None or not run.commit_sha:
            return "no forge"
        ended = run.status in TERMINAL
        if ended and stage == "started":
            return "ended already"
        known = {**_earlier(session, run), **origin.get("feedback", {})}
        target = publishers.Target(repository, run.commit_sha, run.pull_request, known, run.id,
                                   lambda made: _remember(sessions, run_id, made),
                                   _name(session, run.project))  # fmt: skip
        said = _said(session, run, settings) if ended else None
    publisher = choose(origin, settings)  # may ask GitHub for a token: no session held
    if publisher is None:
        log.warning("run %s: no %s credentials; no feedback sent", run_id, origin["forge"])
        return "no credentials"
    if said is None:
        publisher.started(target)
        return "started"
    publisher.finished(target, said)
    return "finished"


def forge_host(forge: str | None, settings: Settings) -> str | None:
    """The host of the forge whose API the settings name: feedback, and a
    forge's tokens, go to repositories there only, never to a host a project's
    URL or a delivery names."""
    api = {"github": settings.github_api_url, "gitlab": settings.gitlab_api_url,
           "gitea": settings.gitea_api_url}.get(forge or "")  # fmt: skip
    host = urlsplit(api).hostname if api else None
    return "github.com" if host == "api.github.com" else host


def _on_forge(forge: str | None, key: str | None, settings: Settings) -> str | None:
    """The repository (owner/name, as the forge's API names it) a project whose
    identity is KEY has on FORGE; None when it is not on that forge."""
    host, _, path = (key or "").partition("/")
    return path if path and host == forge_host(forge, settings) else None


def choose(origin: dict[str, Any], settings: Settings) -> publishers.Publisher | None:
    """How feedback for ORIGIN is given, with the credentials the settings hold."""
    guard, forge = OutboundPolicy.of(settings), origin["forge"]
    if forge == "github":
        app = _app(settings, guard)
        if app is not None and origin.get("installation"):
            token = app.installation_token(int(origin["installation"]))
            return publishers.GitHubChecks(
                _client(settings.github_api_url, f"token {token}", guard)
            )
        if settings.github_token is not None:
            token = settings.github_token.get_secret_value()
            client = _client(settings.github_api_url, f"token {token}", guard)
            return publishers.StatusAndComment(client, "github")
        return None
    tokens = {"gitlab": settings.gitlab_token, "gitea": settings.gitea_token}
    apis = {"gitlab": settings.gitlab_api_url, "gitea": settings.gitea_api_url}
    secret, api = tokens.get(forge), apis.get(forge)
    if secret is None or api is None:
        return None
    scheme = "Bearer" if forge == "gitlab" else "token"
    client = _client(api, f"{scheme} {secret.get_secret_value()}", guard)
    return publishers.StatusAndComment(client, forge)


def fetch_credentials(origin: dict[str, Any], key: str | None,
                      settings: Settings) -> Credentials | None:  # fmt: skip
    """What git fetches a run's repository (identity KEY) with when the project
    stores none: the token of the GitHub App installation that asked for the run
    (scoped to that installation's repositories), for a repository on that
    GitHub only. None when there is none, or when GitHub will not give one now:
    a public repository still fetches without it."""
    if origin.get("forge") != "github" or not origin.get("installation"):
        return None
    if _on_forge("github", key, settings) is None:
        return None
    app = _app(settings, OutboundPolicy.of(settings))
    if app is None:
        return None
    try:
        token = app.installation_token(int(origin["installation"]))
    except (RepolensError, ValueError, KeyError, TypeError) as exc:
        log.warning("no installation token for fetching: %s", exc)
        return None
    return Credentials("x-access-token", token)


def _client(api: str, authorization: str, guard: OutboundPolicy) -> ForgeClient:
    return ForgeClient(api, lambda: {"Authorization": authorization}, guard)


def _app(settings: Settings, guard: OutboundPolicy) -> AppTokens | None:
    if not settings.github_app_id or settings.github_app_private_key is None:
        return None
    private_key = settings.github_app_private_key.get_secret_value()
    key = (settings.github_app_id, settings.github_api_url, hashlib.sha256(private_key.encode())
           .hexdigest())  # a rotated key is used at once  # fmt: skip
    if key not in _apps:
        _apps[key] = AppTokens(settings.github_app_id, private_key, settings.github_api_url,
                               guard)  # fmt: skip
    return _apps[key]


def _name(session: Session, project: Project) -> str:
    """The check's name: "repolens", and the project's when another project
    watches the same repository (each keeps its own verdict)."""
    shared = session.scalar(
        select(func.count()).where(Project.repository_key == project.repository_key)
    )
    return publishers.NAME if (shared or 0) <= 1 else f"{publishers.NAME} ({project.name})"[:100]


def _earlier(session: Session, run: Run) -> dict[str, Any]:
    """The comment an earlier run of the same pull request created, to edit."""
    if run.pull_request is None:
        return {}
    earlier = session.scalars(
        select(Run.origin).where(Run.project_id == run.project_id,
                                 Run.pull_request == run.pull_request, Run.id < run.id)
        .order_by(Run.id.desc())
    )  # fmt: skip
    for origin in earlier:
        comment = (origin or {}).get("feedback", {}).get("comment")
        if comment is not None:
            return {"comment": comment}
    return {}


def _said(session: Session, run: Run, settings: Settings) -> feedback.Said:
    rows = session.scalars(select(Finding).where(Finding.run_id == run.id)).all()
    new = [Note(row.path, row.line, row.end_line, row.severity, row.rule_id, row.title,
                row.message) for row in rows if row.state == "new"]  # fmt: skip
    existing = sum(row.state == "existing" for row in rows)
    fixed = sum(row.state == "fixed" for row in rows)
    url = f"{settings.public_url.rstrip('/')}/api/v1/runs/{run.id}/reports/html" \
        if settings.public_url else None  # fmt: skip
    if run.status != "completed":
        return feedback.unfinished(run.status, run.error or "", url)
    return feedback.said(new, existing, fixed, run.project.gate, url)


def _remember(sessions: sessionmaker[Session], run_id: int, created: dict[str, Any]) -> None:
    with sessions.begin() as session:
        run = runs.find(session, run_id)
        if run is not None:
            origin = dict(run.origin or {})
            origin["feedback"] = {**origin.get("feedback", {}), **created}
            run.origin = origin
