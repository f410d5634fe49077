"""What from outside may reach git's command line: revisions and remote URLs.

Refs come from API callers, the command line and (next) forge webhooks; URLs
from whoever adds a project. To git both are data, never options: a revision
must be a ref name by `git check-ref-format`'s rules (optionally followed by
`~N`/`^N`) or a commit id, and goes after `--end-of-options`; a URL must not
look like an option and must use a transport git is allowed to speak here.
Every git call that takes one of them passes it through this module first."""

from __future__ import annotations

import re

from repolens.errors import Refused

MAX_REF_LENGTH = 255
MAX_URL_LENGTH = 2000
# Transports git may use at all (GIT_ALLOW_PROTOCOL); `ext::` and `fd::` run commands.
PROTOCOLS = ("https", "http", "ssh", "file")

_COMMIT_ID = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SUFFIX = re.compile(r"(?:[~^][0-9]{0,6})*$")
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")

REF_RULES = (
    "a branch, tag or commit: letters, digits and . _ - / (no spaces, no ~ ^ : ? * [ \\, "
    "not starting with - or ., no .., no @{, not ending with / . or .lock), "
    "optionally followed by ~N or ^N"
)


def revision(value: str, what: str = "ref") -> str:
    """VALUE if it is a ref name or commit id, optionally with `~N`/`^N`; else Refused."""
    if not isinstance(value, str) or not value or len(value) > MAX_REF_LENGTH:
        raise Refused(f"{what} must be 1 to {MAX_REF_LENGTH} characters", field=what)
    if _COMMIT_ID.fullmatch(value):
        return value
    name = value[: _SUFFIX.search(value).start()]  # type: ignore[union-attr]
    if not _is_ref_name(name):
        raise Refused(f"{what} {_shown(value)} is not allowed: must be {REF_RULES}", field=what)
    return value


def _is_ref_name(name: str) -> bool:
    """`git check-ref-format --allow-onelevel`, and no component starting with `-`."""
    if not name or name == "@" or _FORBIDDEN.search(name):
        return False
    if ".." in name or "@{" in name or "//" in name:
        return False
    if name.startswith("/") or name.endswith(("/", ".")):
        return False
    return all(
        part and not part.startswith((".", "-")) and not part.endswith(".lock")
        for part in name.split("/")
    )


def remote(url: str) -> str:
    """URL if git can only read it as a repository location; else Refused."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Refused(f"a repository URL must be 1 to {MAX_URL_LENGTH} characters",
                      field="repository_url")  # fmt: skip
    if url.startswith("-"):
        raise Refused("a repository URL may not start with '-'", field="repository_url")
    if re.search(r"[\x00-\x1f\x7f]", url):
        raise Refused("a repository URL may not contain control characters",
                      field="repository_url")  # fmt: skip
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*::", url):
        raise Refused("git remote helpers (transport::address) are not allowed",
                      field="repository_url")  # fmt: skip
    return url


def _shown(value: str) -> str:
    """VALUE for a message: quoted, printable and short."""
    printable = value.encode("unicode_escape").decode("ascii")
    return repr(printable if len(printable) <= 80 else printable[:77] + "...")
