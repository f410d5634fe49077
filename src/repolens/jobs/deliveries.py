"""A forge's delivery, handled: recorded once, matched to the projects that
watch its repository, and turned into runs through `lifecycle.trigger`.

Nothing here waits on the forge or the scan: the delivery and its runs are
written in the caller's transaction, and the scan is a job."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from repolens.errors import NotFoundError
from repolens.forges.events import Event, Kind
from repolens.jobs import feedback, lifecycle
from repolens.jobs.queue import JobQueue
from repolens.security import project_fields
from repolens.settings import Settings
from repolens.storage import projects, runs
from repolens.storage.models import Delivery, Project

Key = tuple[str, str, int]  # a delivery: its forge, its id there, its hook


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


@dataclass(frozen=True)
class Arrival:
    """A delivery as it came: its EVENT, its DELIVERY_ID at the forge (None for a
    replay of recorded delivery REPLAY_OF), and the project whose own hook it
    came through (ONLY; None: the deployment's hook)."""

    event: Event
    delivery_id: str | None
    only: int | None = None
    replay_of: int | None = None

    @property
    def key(self) -> Key | None:
        """What makes it the same delivery as one recorded before."""
        if self.delivery_id is None:
            return None
        return (self.event.forge.value, self.delivery_id, self.only or 0)


def receive(session: Session, event: Event, delivery_id: str | None, settings: Settings, *,
            jobs: JobQueue | None = None, only: int | None = None,
            replay_of: int | None = None) -> Outcome:  # fmt: skip
    """Record and handle EVENT, delivered as DELIVERY_ID (None: a replay of the
    delivery REPLAY_OF), for the projects that watch its repository (ONLY that
    one, by id, when given); see `receive_all`."""
    return receive_all(session, [Arrival(event, delivery_id, only, replay_of)], settings, jobs)[0]


def receive_all(session: Session, arrivals: list[Arrival], settings: Settings,
                jobs: JobQueue | None = None) -> list[Outcome]:  # fmt: skip
    """Record and handle ARRIVALS together, in SESSION's transaction, in order:
    one query finds those received before, one the projects that watch their
    repositories, one statement queues all their runs and one records them all
    (`_Batch`). A delivery id already recorded queues nothing; the event is
    kept with the record, so it can be replayed."""
    batch = _Batch(session, arrivals, settings, jobs)
    for index, arrival in enumerate(arrivals):
        batch.handle(index, arrival)
    return batch.record()


class _Batch:
    def __init__(self, session: Session, arrivals: list[Arrival], settings: Settings,
                 jobs: JobQueue | None) -> None:  # fmt: skip
        self.began = time.perf_counter()
        self.session, self.arrivals, self.settings, self.jobs = session, arrivals, settings, jobs
        self.seen = _seen(session, [arrival.key for arrival in arrivals if arrival.key])
        self.repositories = {arrival.event.repository for arrival in arrivals
                             if arrival.event.repository}  # fmt: skip
        self.watchers = _watchers(session, self.repositories)
        self.decided: dict[int, Outcome] = {}
        self.first: dict[Key, int] = {}  # a delivery id's first index here
        self.handled: dict[int, tuple[Event, list[Project]]] = {}
        self.wanted: dict[int, list[runs.Wanted]] = {}  # runs asked for, not queued yet

    def handle(self, index: int, arrival: Arrival) -> None:
        key = arrival.key
        if key is not None and key in self.seen:
            self.decided[index] = self.seen[key]
            return
        if key is not None and key in self.first:
            return  # the same delivery twice at once: answered as the first (`record`)
        if key is not None:
            self.first[key] = index
        event = arrival.event
        watching = [project for project in self.watchers.get(event.repository or "", [])
                    if arrival.only is None or project.id == arrival.only]  # fmt: skip
        if arrival.only is not None:
            # A project's own hook is trusted for that project's repository only:
            # not for an App's installation (its token reads other repositories).
            event = event.model_copy(update={"installation": None})
        self.handled[index] = (event, watching)
        if event.kind in (Kind.INSTALLATION, Kind.PULL_REQUEST_CLOSED):
            self._queue()  # what arrived before it happens before it
        decision = _handle(self.session, event, watching, self.settings, self.jobs,
                           hooked=arrival.only is not None)  # fmt: skip
        if isinstance(decision, Outcome):
            self.decided[index] = decision
            if decision.status == "created":  # what arrives after it may be for its projects
                self.watchers = _watchers(self.session, self.repositories)
        else:
            self.wanted[index] = decision

    def record(self) -> list[Outcome]:
        """Queue what is asked for, write every delivery's record, and answer each."""
        self._queue()
        records = {index: self._record(index, event, watching)
                   for index, (event, watching) in self.handled.items()}  # fmt: skip
        self.session.add_all(records.values())
        self.session.flush()  # a delivery id recorded meanwhile by another request: IntegrityError
        answers = []
        for index, arrival in enumerate(self.arrivals):
            if index in records:
                outcome, record = self.decided[index], records[index]
                if not outcome.runs:  # a run tells of itself; anything else, the delivery does
                    for project in self.handled[index][1]:
                        _announce(self.session, project.id, record)
                answers.append(Outcome(outcome.status, outcome.reason, outcome.runs, record.id))
            elif index in self.decided:
                answers.append(self.decided[index])
            else:  # a twin of an earlier arrival of this batch
                twin = records[self.first[arrival.key]] if arrival.key else None
                answers.append(_duplicate(arrival.delivery_id, twin.run_id if twin else None,
                                          twin.id if twin else None))  # fmt: skip
        return answers

    def _queue(self) -> None:
        asked = [(index, wanted) for index, wanted in self.wanted.items()]
        self.wanted = {}
        made = iter(lifecycle.request_all(self.session, [one for _, wanted in asked
                                                         for one in wanted]))  # fmt: skip
        for index, wanted in asked:
            queued = [run.id for run in (next(made) for _ in wanted) if run is not None]
            self.decided[index] = (Outcome("queued", None, queued) if queued
                                   else Outcome("skipped", "the project is gone"))  # fmt: skip

    def _record(self, index: int, event: Event, watching: list[Project]) -> Delivery:
        arrival, outcome = self.arrivals[index], self.decided[index]
        return Delivery(forge=event.forge, delivery_id=arrival.delivery_id,
                        event=event.name[:64], action=(event.action or "")[:64] or None,
                        repository=event.repository,
                        project_id=watching[0].id if watching else None,
                        run_id=outcome.runs[0] if outcome.runs else None, status=outcome.status,
                        reason=outcome.reason, payload=event.model_dump(mode="json"),
                        replay_of=arrival.replay_of, hook=arrival.only or 0,
                        handled_ms=round((time.perf_counter() - self.began) * 1000, 3))  # fmt: skip


def earlier(session: Session, event: Event, delivery_id: str | None,
            only: int | None = None) -> Outcome | None:  # fmt: skip
    """The answer to a delivery id recorded before at the same hook (ONLY's,
    or the deployment's): nothing new is done."""
    key = Arrival(event, delivery_id, only).key
    return _seen(session, [key]).get(key) if key is not None else None


def _seen(session: Session, keys: list[Key]) -> dict[Key, Outcome]:
    """The answers to the delivery KEYS recorded before, in one query."""
    if not keys:
        return {}
    rows = session.execute(
        select(Delivery.forge, Delivery.delivery_id, Delivery.hook, Delivery.run_id, Delivery.id)
        .where(tuple_(Delivery.forge, Delivery.delivery_id, Delivery.hook).in_(keys))
    )  # fmt: skip
    return {(str(forge), str(delivery_id), int(hook)): _duplicate(delivery_id, run_id, record)
            for forge, delivery_id, hook, run_id, record in rows}  # fmt: skip


def _duplicate(delivery_id: str | None, run_id: int | None, record: int | None) -> Outcome:
    return Outcome("duplicate", f"delivery {delivery_id} was received before",
                   [run_id] if run_id else [], record)  # fmt: skip


def replay(session: Session, delivery_id: int, settings: Settings,
           jobs: JobQueue | None = None) -> Outcome:  # fmt: skip
    """Handle recorded delivery DELIVERY_ID's event again, as a new delivery."""
    recorded = session.get(Delivery, delivery_id)
    if recorded is None:
        raise NotFoundError(f"delivery {delivery_id} not found")
    event = Event.model_validate(recorded.payload)
    return receive(session, event, None, settings, jobs=jobs, replay_of=recorded.id,
                   only=recorded.hook or None)  # fmt: skip


def _watchers(session: Session, repositories: set[str]) -> dict[str, list[Project]]:
    """The projects watching each of REPOSITORIES, by repository key, in one query."""
    found: dict[str, list[Project]] = {}
    if repositories:
        for project in session.scalars(
            select(Project).where(Project.repository_key.in_(repositories)).order_by(Project.id)
        ):  # fmt: skip
            found.setdefault(project.repository_key or "", []).append(project)
    return found


def _handle(session: Session, event: Event, watching: list[Project], settings: Settings,
            jobs: JobQueue | None,
            hooked: bool = False) -> Outcome | list[runs.Wanted]:  # fmt: skip
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
          settings: Settings) -> Outcome | list[runs.Wanted]:  # fmt: skip
    if event.deleted:
        return Outcome("skipped", f"branch {event.branch} was deleted")
    if event.tag and not settings.webhook_tags:
        return Outcome("skipped", f"tag {event.branch}: tags are not scanned "
                                  "(REPOLENS_WEBHOOK_TAGS)")  # fmt: skip
    if not event.commit or not event.branch:
        return Outcome("skipped", "the push names no commit")
    return _trigger(event, watching, "push")


def _pull_request(session: Session, event: Event, watching: list[Project],
                  settings: Settings) -> Outcome | list[runs.Wanted]:  # fmt: skip
    if event.draft and not settings.webhook_drafts:
        return Outcome("skipped", f"pull request {event.pull_request} is a draft "
                                  "(REPOLENS_WEBHOOK_DRAFTS)")  # fmt: skip
    if not event.commit or event.pull_request is None:
        return Outcome("skipped", "the pull request names no head commit")
    return _trigger(event, watching, "pull_request")


def _rerun(session: Session, event: Event, watching: list[Project],
           settings: Settings) -> Outcome | list[runs.Wanted]:  # fmt: skip
    if not event.commit:
        return Outcome("skipped", "the check names no commit")
    reason = "pull_request" if event.pull_request is not None else "push"
    return _trigger(event, watching, reason)


def _trigger(event: Event, watching: list[Project], reason: str) -> list[runs.Wanted]:
    """A run of EVENT's commit for each project watching, queued with the rest of
    the batch."""
    source = runs.Source(commit=event.commit, pull_request=event.pull_request,
                         base_commit=event.base_commit, origin=origin(event))  # fmt: skip
    priority = lifecycle.PRIORITY[reason]
    return [runs.Wanted(project.id, reason, event.branch, priority, source) for project in watching]


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
