"""A forge's delivery, handled: recorded once, matched to the projects that
watch its repository, and turned into runs through `lifecycle.trigger`.

Nothing here waits on the forge or the scan: the delivery and its runs are
written in the caller's transaction, and the scan is a job."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repolens.errors import NotFoundError
from repolens.forges.events import Event, Kind
from repolens.jobs import feedback, lifecycle
from repolens.jobs.queue import JobQueue
from repolens.security import project_fields
from repolens.settings import Settings
from repolens.storage import projects, runs
from repolens.storage.models import Delivery, Project


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery: `queued` (RUNS), `skipped` or `ignored` (with
    REASON), `cancelled` (a closed pull request's queued runs), `created` (an
    App's installation's projects), `duplicate`."""

    status: str
    reason: str | None = None
    runs: list[int] = field(default_factory=list)
    delivery: int | None = None

    def answer(self) -> dict[str, Any]:
        said: dict[str, Any] = {"status": self.status, "delivery": self.delivery}
        if self.reason:
            said["reason"] = self.reason
        if self.runs:
            said["run_id"], said["run_ids"] = self.runs[0], self.runs
        return said


def receive(session: Session, event: Event, delivery_id: str | None, settings: Settings, *,
            jobs: JobQueue | None = None, only: int | None = None,
            replay_of: int | None = None) -> Outcome:  # fmt: skip
    """Record and handle EVENT, delivered as DELIVERY_ID (None: a replay of the
    delivery REPLAY_OF), for the projects that watch its repository (ONLY that
    one, by id, when given). A delivery id already recorded queues nothing; the
    event is kept with the record, so it can be replayed."""
    began = time.perf_counter()
    seen = earlier(session, event, delivery_id, only)
    if seen is not None:
        return seen
    watching = [project for project in _projects(session, event)
                if only is None or project.id == only]  # fmt: skip
    if only is not None:
        # A project's own hook is trusted for that project's repository only:
        # not for an App's installation (its token reads other repositories).
        event = event.model_copy(update={"installation": None})
    outcome = _handle(session, event, watching, settings, jobs, hooked=only is not None)
    record = Delivery(forge=event.forge, delivery_id=delivery_id, event=event.name[:64],
                      action=(event.action or "")[:64] or None, repository=event.repository,
                      project_id=watching[0].id if watching else None,
                      run_id=outcome.runs[0] if outcome.runs else None, status=outcome.status,
                      reason=outcome.reason, payload=event.model_dump(mode="json"),
                      replay_of=replay_of, hook=only or 0,
                      handled_ms=round((time.perf_counter() - began) * 1000, 3))  # fmt: skip
    session.add(record)
    session.flush()  # a delivery id recorded meanwhile by another request: IntegrityError
    if not outcome.runs:  # a run tells of itself; anything else, the delivery does
        for project in watching:
            _announce(session, project.id, record)
    return Outcome(outcome.status, outcome.reason, outcome.runs, record.id)


def earlier(session: Session, event: Event, delivery_id: str | None,
            only: int | None = None) -> Outcome | None:  # fmt: skip
    """The answer to a delivery id recorded before at the same hook (ONLY's,
    or the deployment's): nothing new is done."""
    if delivery_id is None:
        return None
    seen = session.scalar(
        select(Delivery).where(Delivery.forge == event.forge, Delivery.delivery_id == delivery_id,
                               Delivery.hook == (only or 0))
    )  # fmt: skip
    if seen is None:
        return None
    return Outcome("duplicate", f"delivery {delivery_id} was received before",
                   [seen.run_id] if seen.run_id else [], seen.id)  # fmt: skip


def replay(session: Session, delivery_id: int, settings: Settings,
           jobs: JobQueue | None = None) -> Outcome:  # fmt: skip
    """Handle recorded delivery DELIVERY_ID's event again, as a new delivery."""
    recorded = session.get(Delivery, delivery_id)
    if recorded is None:
        raise NotFoundError(f"delivery {delivery_id} not found")
    event = Event.model_validate(recorded.payload)
    return receive(session, event, None, settings, jobs=jobs, replay_of=recorded.id,
                   only=recorded.hook or None)  # fmt: skip


def _projects(session: Session, event: Event) -> list[Project]:
    if not event.repository:
        return []
    return list(session.scalars(
        select(Project).where(Project.repository_key == event.repository).order_by(Project.id)
    ))  # fmt: skip


def _handle(session: Session, event: Event, watching: list[Project], settings: Settings,
            jobs: JobQueue | None, hooked: bool = False) -> Outcome:  # fmt: skip
    kinds = {Kind.PUSH: _push, Kind.PULL_REQUEST: _pull_request, Kind.RERUN: _rerun}
    if event.kind == Kind.PING:
        return Outcome("ignored", "ping: the hook reaches repolens")
    if event.kind == Kind.INSTALLATION:
        if hooked:
            return Outcome("ignored", "installation: only the deployment's hook may install")
        return _installation(session, event, settings)
    if not event.repository:
        return Outcome("skipped", f"{event.name}: the delivery names no repository")
    if not watching:
        return Outcome("skipped", f"no project watches {event.repository}")
    if event.kind == Kind.PULL_REQUEST_CLOSED and event.pull_request is not None:
        cancelled = [
            run_id
            for project in watching
            for run_id in lifecycle.close_pull_request(
                session, project.id, event.pull_request, jobs
            )
        ]
        return Outcome("cancelled", f"pull request {event.pull_request} closed: "
                       f"{len(cancelled)} queued run(s) cancelled", cancelled)  # fmt: skip
    handle = kinds.get(event.kind)
    if handle is None:
        what = f"{event.name} {event.action}" if event.action else event.name
        return Outcome("ignored", f"{what}: recorded, nothing to analyse")
    return handle(session, event, watching, settings)


MAX_INSTALLED = 100  # projects one installation event may create


def _installation(session: Session, event: Event, settings: Settings) -> Outcome:
    """A GitHub App installed on repositories: with REPOLENS_GITHUB_APP_CREATES_PROJECTS,
    a project for each one no project watches yet."""
    if event.action not in ("created", "added") or not event.repositories:
        return Outcome("ignored", f"installation {event.action}: recorded")
    if not settings.github_app_creates_projects:
        return Outcome("ignored", "installation: recorded; projects are added over the API "
                                  "(REPOLENS_GITHUB_APP_CREATES_PROJECTS)")  # fmt: skip
    web = feedback.forge_host("github", settings) or "github.com"
    created = []
    for full_name in event.repositories[:MAX_INSTALLED]:
        fields = project_fields.checked({"name": full_name[:200],
                                         "repository_url": f"https://{web}/{full_name}"},
                                        settings)  # fmt: skip
        if fields["repository_key"] is None:  # not a repository name a URL can carry
            continue
        taken = session.scalar(
            select(Project.id).where(
                (Project.repository_key == fields["repository_key"]) | (Project.name == full_name)
            )
        )
        if taken is None:
            created.append(projects.create(session, **fields).name)
    return Outcome("created", f"projects created: {', '.join(created) or 'none'}")


def _push(session: Session, event: Event, watching: list[Project],
          settings: Settings) -> Outcome:  # fmt: skip
    if event.deleted:
        return Outcome("skipped", f"branch {event.branch} was deleted")
    if event.tag and not settings.webhook_tags:
        return Outcome("skipped", f"tag {event.branch}: tags are not scanned "
                                  "(REPOLENS_WEBHOOK_TAGS)")  # fmt: skip
    if not event.commit or not event.branch:
        return Outcome("skipped", "the push names no commit")
    return _trigger(session, event, watching, "push")


def _pull_request(session: Session, event: Event, watching: list[Project],
                  settings: Settings) -> Outcome:  # fmt: skip
    if event.draft and not settings.webhook_drafts:
        return Outcome("skipped", f"pull request {event.pull_request} is a draft "
                                  "(REPOLENS_WEBHOOK_DRAFTS)")  # fmt: skip
    if not event.commit or event.pull_request is None:
        return Outcome("skipped", "the pull request names no head commit")
    return _trigger(session, event, watching, "pull_request")


def _rerun(session: Session, event: Event, watching: list[Project],
           settings: Settings) -> Outcome:  # fmt: skip
    if not event.commit:
        return Outcome("skipped", "the check names no commit")
    reason = "pull_request" if event.pull_request is not None else "push"
    return _trigger(session, event, watching, reason)


def _trigger(session: Session, event: Event, watching: list[Project], reason: str) -> Outcome:
    source = runs.Source(commit=event.commit, pull_request=event.pull_request,
                         base_commit=event.base_commit, origin=origin(event))  # fmt: skip
    queued = [
        lifecycle.trigger(session, project.id, reason, event.branch, source=source)[0].id
        for project in watching
    ]
    return Outcome("queued", None, queued)


def origin(event: Event) -> dict[str, Any]:
    """What feedback on a run for EVENT needs to know: where to send it."""
    found = {"forge": event.forge.value, "repository": event.full_name, "branch": event.branch,
             "base_branch": event.base_branch, "installation": event.installation}  # fmt: skip
    return {key: value for key, value in found.items() if value is not None}


def _announce(session: Session, project_id: int, record: Delivery) -> None:
    """Tell the project's live channel of the delivery, once it is committed."""
    data = {"delivery": record.id, "forge": record.forge, "event": record.event,
            "action": record.action, "status": record.status, "run_id": record.run_id}  # fmt: skip
    lifecycle.tell(session, lambda feed: feed.delivery(project_id, data))
