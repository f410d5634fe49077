"""GitLab's deliveries (`X-Gitlab-Event`) as events."""

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

# Merge request actions that ask for a scan; `update` only when it brought commits.
MERGE_REQUEST_RUNS = {"open", "reopen"}


def read(name: str, body: dict[str, Any]) -> Event:
    kind = text(body.get("object_kind"))
    project = mapping(body.get("project") or {}, "project")
    url = text(project.get("git_http_url"), 2000) or text(project.get("web_url"), 2000)
    common: dict[str, Any] = {
        "forge": Forge.GITLAB,
        "name": name,
        "repository": identity.key(url),
        "full_name": text(project.get("path_with_namespace"), 300),
        "clone_url": url,
        "installation": number(project.get("id")),
    }
    if kind in ("push", "tag_push"):
        return _push(body, common)
    if kind == "merge_request":
        return _merge_request(body, common)
    attributes = mapping(body.get("object_attributes") or {}, "object_attributes")
    return Event(action=text(attributes.get("action"), 64), **common)


def _push(body: dict[str, Any], common: dict[str, Any]) -> Event:
    branch, tag = branch_of(text(body.get("ref")))
    after = text(body.get("checkout_sha")) or text(body.get("after"))
    deleted = after is None or after == ZERO
    return Event(kind=Kind.PUSH, branch=branch, tag=tag or body.get("object_kind") == "tag_push",
                 deleted=deleted, commit=None if deleted else commit(after), **common)  # fmt: skip


def _merge_request(body: dict[str, Any], common: dict[str, Any]) -> Event:
    request = mapping(body.get("object_attributes"), "object_attributes")
    action = text(request.get("action"), 64)
    last = mapping(request.get("last_commit") or {}, "object_attributes.last_commit")
    kind = Kind.OTHER
    if action in MERGE_REQUEST_RUNS or (action == "update" and text(request.get("oldrev"))):
        kind = Kind.PULL_REQUEST
    elif action in ("close", "merge"):
        kind = Kind.PULL_REQUEST_CLOSED
    draft = request.get("draft") is True or request.get("work_in_progress") is True
    return Event(kind=kind, action=action, pull_request=number(request.get("iid")),
                 branch=text(request.get("source_branch")), commit=commit(last.get("id")),
                 base_branch=text(request.get("target_branch")), draft=draft,
                 **common)  # fmt: skip
