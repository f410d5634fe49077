"""What a forge's delivery asks of repolens, in one shape whatever the forge.

Each forge's reader (`github`, `gitlab`, `gitea`) turns a verified, parsed
body into an `Event`: what kind it is, which repository (by identity key), and
for pushes and pull requests the exact commits. A body that is not what its
event header says it is raises `Unreadable` (a 400); anything repolens does not
act on is `Kind.OTHER` and is only recorded and published."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from repolens.errors import InputError


class Forge(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"  # Forgejo speaks Gitea's format


class Kind(StrEnum):
    PING = "ping"
    PUSH = "push"
    PULL_REQUEST = "pull_request"  # opened, new commits, reopened, ready for review
    PULL_REQUEST_CLOSED = "pull_request_closed"
    RERUN = "rerun"  # a check suite or run asked for again
    INSTALLATION = "installation"  # a GitHub App installed on repositories
    OTHER = "other"


class Unreadable(InputError):
    """A body that is not the payload its event header names."""


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    forge: Forge
    name: str  # the event header's value
    action: str | None = None
    kind: Kind = Kind.OTHER
    repository: str | None = None  # identity key, host/owner/name
    full_name: str | None = None  # owner/name as the forge's API names it
    clone_url: str | None = None
    branch: str | None = None  # a push's branch, a pull request's head branch
    tag: bool = False
    deleted: bool = False
    commit: str | None = None  # the head to analyse
    pull_request: int | None = None
    base_branch: str | None = None
    base_commit: str | None = None
    draft: bool = False
    installation: int | None = None
    repositories: tuple[str, ...] = ()  # an installation's repositories (full names)


ZERO = "0" * 40  # the commit a deleted branch points at, in push payloads


def mapping(value: Any, where: str) -> dict[str, Any]:
    """VALUE if it is a JSON object; else Unreadable naming WHERE."""
    if not isinstance(value, dict):
        raise Unreadable(f"{where} must be an object")
    return value


def sequence(value: Any, where: str) -> list[Any]:
    """VALUE if it is a JSON array (absent: empty); else Unreadable naming WHERE."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unreadable(f"{where} must be an array")
    return value


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL, lone surrogates: no database takes them


def text(value: Any, limit: int = 255) -> str | None:
    """VALUE if it is a string of at most LIMIT characters a database can store;
    None when absent or empty; Unreadable otherwise."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) > limit or _UNSTORABLE.search(value):
        raise Unreadable(f"a field holds {len(value)} characters or ones no database stores")
    return value


def number(value: Any) -> int | None:
    """VALUE if it is a whole number from 1 to 2^31 - 1 (ids, pull request numbers)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    return None


_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def commit(value: Any) -> str | None:
    """VALUE if it is a full commit id (SHA-1 or SHA-256, lower case)."""
    return value if isinstance(value, str) and _COMMIT.fullmatch(value) else None


def branch_of(ref: str | None) -> tuple[str | None, bool]:
    """The branch or tag name of a full REF, and whether it is a tag."""
    if ref and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/"), False
    if ref and ref.startswith("refs/tags/"):
        return ref.removeprefix("refs/tags/"), True
    return ref, False
