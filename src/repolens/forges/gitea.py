"""Gitea's and Forgejo's deliveries (`X-Gitea-Event`, `X-Forgejo-Event`) as events."""

from __future__ import annotations

from typing import Any

from repolens.forges import github
from repolens.forges.events import (
    ZERO,
    Event,
    Forge,
    Kind,
    branch_of,
    commit,
    mapping,
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
        return github.pull_request(body, common, PULL_REQUEST_RUNS)
    return Event(**common)
