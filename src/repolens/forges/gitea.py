"""Gitea's and Forgejo's deliveries (`X-Gitea-Event`, `X-Forgejo-Event`) as events."""

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
    text,
)
from repolens.git import identity

PULL_REQUEST_RUNS = {"opened", "reopened", "synchronized"}


def read(name: str, body: dict[str, Any]) -> Event:
    repository = mapping(body.get("repository") or {}, "repository")
    url = text(repository.get("clone_url"), 2000) or text(repository.get("html_url"), 2000)
    common: dict[str, Any] = {
        "forge": Forge.GITEA,
        "name": name,
        "action": text(body.get("action"), 64),
        "repository": identity.key(url),
        "full_name": text(repository.get("full_name"), 300),
        "clone_url": url,
    }
    if name == "push":
        branch, tag = branch_of(text(body.get("ref")))
        after = text(body.get("after"))
        deleted = after is None or after == ZERO
        return Event(kind=Kind.PUSH, branch=branch, tag=tag, deleted=deleted,
                     commit=None if deleted else commit(after), **common)  # fmt: skip
    if name in ("pull_request", "pull_request_sync"):
        return _pull_request(body, common)
    return Event(**common)


def _pull_request(body: dict[str, Any], common: dict[str, Any]) -> Event:
    pull = mapping(body.get("pull_request"), "pull_request")
    head = mapping(pull.get("head") or {}, "pull_request.head")
    base = mapping(pull.get("base") or {}, "pull_request.base")
    action = common["action"]
    kind = Kind.PULL_REQUEST if action in PULL_REQUEST_RUNS else Kind.OTHER
    if action == "closed":
        kind = Kind.PULL_REQUEST_CLOSED
    return Event(kind=kind, pull_request=number(pull.get("number")) or number(body.get("number")),
                 branch=text(head.get("ref")), commit=commit(head.get("sha")),
                 base_branch=text(base.get("ref")), base_commit=commit(base.get("sha")),
                 draft=pull.get("draft") is True, **common)  # fmt: skip
