"""GitHub's deliveries (`X-GitHub-Event`) as events."""

from __future__ import annotations

from typing import Any

from repolens.forges.events import (
    ZERO,
    Event,
    Forge,
    Kind,
    branch_of,
    commit,
    mapping,
    number,
    sequence,
    text,
)
from repolens.git import identity

PULL_REQUEST_RUNS = {"opened", "synchronize", "reopened", "ready_for_review"}


def read(name: str, body: dict[str, Any]) -> Event:
    """The event NAME's BODY is, read as far as repolens acts on it."""
    action = text(body.get("action"), 64)
    common: dict[str, Any] = {
        "forge": Forge.GITHUB,
        "name": name,
        "action": action,
        **_repository(body),
        "installation": number(mapping(body.get("installation") or {}, "installation").get("id")),
    }
    if name == "ping":
        return Event(kind=Kind.PING, **common)
    if name == "push":
        return _push(body, common)
    if name == "pull_request":
        return _pull_request(body, common)
    if name in ("check_suite", "check_run"):
        return _rerun(name, body, common)
    if name in ("installation", "installation_repositories"):
        listed = sequence(body.get("repositories") or body.get("repositories_added"),
                          "repositories")  # fmt: skip
        names = [text(mapping(each, "repository").get("full_name"), 300) for each in listed]
        return Event(kind=Kind.INSTALLATION, repositories=tuple(n for n in names if n), **common)
    return Event(**common)


def _repository(body: dict[str, Any]) -> dict[str, Any]:
    repository = mapping(body.get("repository") or {}, "repository")
    url = text(repository.get("clone_url"), 2000) or text(repository.get("html_url"), 2000)
    return {"repository": identity.key(url), "full_name": text(repository.get("full_name"), 300),
            "clone_url": url}  # fmt: skip


def _push(body: dict[str, Any], common: dict[str, Any]) -> Event:
    branch, tag = branch_of(text(body.get("ref")))
    after = text(body.get("after"))
    deleted = body.get("deleted") is True or after == ZERO
    return Event(kind=Kind.PUSH, branch=branch, tag=tag, deleted=deleted,
                 commit=None if deleted else commit(after), **common)  # fmt: skip


def _pull_request(body: dict[str, Any], common: dict[str, Any]) -> Event:
    return pull_request(body, common, PULL_REQUEST_RUNS)


def pull_request(body: dict[str, Any], common: dict[str, Any], runs: set[str]) -> Event:
    """A pull request event in GitHub's shape (Gitea's and Forgejo's too): one
    whose action is in RUNS asks for a scan of its head; `closed` ends it."""
    pull = mapping(body.get("pull_request"), "pull_request")
    head = mapping(pull.get("head") or {}, "pull_request.head")
    base = mapping(pull.get("base") or {}, "pull_request.base")
    action = common["action"]
    kind = Kind.PULL_REQUEST if action in runs else Kind.OTHER
    if action == "closed":
        kind = Kind.PULL_REQUEST_CLOSED
    return Event(kind=kind, pull_request=number(pull.get("number")) or number(body.get("number")),
                 branch=text(head.get("ref")), commit=commit(head.get("sha")),
                 base_branch=text(base.get("ref")), base_commit=commit(base.get("sha")),
                 draft=pull.get("draft") is True, **common)  # fmt: skip


def _rerun(name: str, body: dict[str, Any], common: dict[str, Any]) -> Event:
    """A check suite requested or re-requested, or one check run re-requested:
    the same commit again (its pull request, when the suite names one)."""
    # "requested" comes with every push, which is scanned as a push already.
    wanted = {"check_suite": {"rerequested"}, "check_run": {"rerequested"}}
    check = mapping(body.get(name), name)
    suite = check if name == "check_suite" else mapping(check.get("check_suite") or {}, name)
    pulls = [mapping(each, "pull_requests")
             for each in sequence(check.get("pull_requests"), "pull_requests")]  # fmt: skip
    pull = pulls[0] if pulls else {}
    base = mapping(pull.get("base") or {}, "pull_requests.base")
    return Event(kind=Kind.RERUN if common["action"] in wanted[name] else Kind.OTHER,
                 commit=commit(check.get("head_sha")), branch=text(suite.get("head_branch")),
                 pull_request=number(pull.get("number")), base_branch=text(base.get("ref")),
                 base_commit=commit(base.get("sha")), **common)  # fmt: skip
