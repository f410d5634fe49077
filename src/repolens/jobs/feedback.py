"""The feedback job: tell the forge a run of one of its commits started, or how
it ended. Asked for by the lifecycle when a run with a forge origin starts and
when it ends; it reads the run as it is when the job runs, so a late or repeated
job says the same thing again and creates nothing twice (what it created is
kept in the run's origin, and a pull request's comment is found from its
earlier runs)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
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
from repolens.storage.models import TERMINAL, Finding, Run

log = logging.getLogger(__name__)

_apps: dict[tuple[str, str], AppTokens] = {}  # one cache of installation tokens per app


def publish(run_id: int, settings: Settings, sessions: sessionmaker[Session],
            stage: str | None = None) -> str:  # fmt: skip
    """Send RUN_ID's feedback; returns what was said ("started", "finished"),
    or why nothing was ("no forge", "no credentials", "gone", "ended already":
    a STAGE "started" job that ran after the run ended leaves it to the next)."""
    with sessions() as session:
        run = runs.find(session, run_id)
        if run is None:
            return "gone"
        origin = dict(run.origin or {})
        if not origin.get("forge") or not origin.get("repository") or not run.commit_sha:
            return "no forge"
        host = (run.project.repository_key or "").split("/", 1)[0]
        target = publishers.Target(origin["repository"], run.commit_sha, run.pull_request,
                                   {**_earlier(session, run), **origin.get("feedback", {})},
                                   run.id)  # fmt: skip
        ended = run.status in TERMINAL
        if ended and stage == "started":
            return "ended already"
        said = _said(session, run, settings) if ended else None
    publisher = choose(origin, host, settings)  # may ask GitHub for a token: no session held
    if publisher is None:
        log.warning("run %s: no %s credentials; no feedback sent", run_id, origin["forge"])
        return "no credentials"
    created = publisher.finished(target, said) if said else publisher.started(target)
    if created:
        _remember(sessions, run_id, created)
    return "finished" if ended else "started"


def choose(origin: dict[str, Any], host: str,
           settings: Settings) -> publishers.Publisher | None:  # fmt: skip
    """How feedback for ORIGIN (a repository on HOST) is given, with the
    credentials the settings hold."""
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
    apis = {"gitlab": settings.gitlab_api_url or f"https://{host}/api/v4",
            "gitea": settings.gitea_api_url or f"https://{host}/api/v1"}  # fmt: skip
    secret = tokens.get(forge)
    if secret is None:
        return None
    scheme = "Bearer" if forge == "gitlab" else "token"
    client = _client(apis[forge], f"{scheme} {secret.get_secret_value()}", guard)
    return publishers.StatusAndComment(client, forge)


def fetch_credentials(origin: dict[str, Any], settings: Settings) -> Credentials | None:
    """What git fetches a run's repository with when the project stores none:
    the token of the GitHub App installation that asked for the run (scoped to
    that installation's repositories). None when there is none, or when GitHub
    will not give one now: a public repository still fetches without it."""
    if origin.get("forge") != "github" or not origin.get("installation"):
        return None
    app = _app(settings, OutboundPolicy.of(settings))
    if app is None:
        return None
    try:
        token = app.installation_token(int(origin["installation"]))
    except (RepolensError, ValueError) as exc:
        log.warning("no installation token for fetching: %s", exc)
        return None
    return Credentials("x-access-token", token)


def _client(api: str, authorization: str, guard: OutboundPolicy) -> ForgeClient:
    return ForgeClient(api, lambda: {"Authorization": authorization}, guard)


def _app(settings: Settings, guard: OutboundPolicy) -> AppTokens | None:
    if not settings.github_app_id or settings.github_app_private_key is None:
        return None
    key = (settings.github_app_id, settings.github_api_url)
    if key not in _apps:
        _apps[key] = AppTokens(settings.github_app_id,
                               settings.github_app_private_key.get_secret_value(),
                               settings.github_api_url, guard)  # fmt: skip
    return _apps[key]


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
        return feedback.Said(False, f"the run {run.status}: {run.error or ''}"[:140],
                             f"{feedback.MARKER}\n## repolens: the run {run.status}\n\n"
                             f"{run.error or ''}\n", [], url)  # fmt: skip
    return feedback.said(new, existing, fixed, run.project.gate, url)


def _remember(sessions: sessionmaker[Session], run_id: int, created: dict[str, Any]) -> None:
    with sessions.begin() as session:
        run = runs.find(session, run_id)
        if run is not None:
            origin = dict(run.origin or {})
            origin["feedback"] = {**origin.get("feedback", {}), **created}
            run.origin = origin
