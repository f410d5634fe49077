"""Which repository a URL names, whatever its form: `https://host/o/r(.git)`,
`git@host:o/r.git`, `ssh://git@host:2222/o/r.git`. A webhook names its
repository one way and a project may have been added another; both reduce to
the same key, `host/owner/name` in lower case (a port is not part of it: the
same repository is served over HTTPS and SSH on different ports)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>[^/\s].*)$")  # git@host:o/r.git
MAX_KEY = 300  # characters, as stored (projects.repository_key)
_PATH = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+$")  # owner/name, GitLab groups too


def key(url: str | None) -> str | None:
    """`host/owner/name` for URL, or None when it names no hosted repository
    (a local path, a file:// URL, something unreadable)."""
    if not url or len(url) > 2000:
        return None
    host, path = _split(url.strip())
    if not host or not path:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    if not _PATH.fullmatch(path) or any(part in (".", "..") for part in path.split("/")):
        return None
    found = f"{host.lower()}/{path.lower()}"
    return found if len(found) <= MAX_KEY else None


def _split(url: str) -> tuple[str | None, str | None]:
    if "://" in url:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return None, None
        if parts.scheme.lower() not in ("http", "https", "ssh", "git"):
            return None, None
        return host, parts.path
    scp = _SCP.match(url)
    return (scp["host"], scp["path"]) if scp else (None, None)
