"""A cache of bare mirrors, one per repository URL.

A mirror is only ever cloned or fetched into; checkouts read from it through a
private index, so nothing a scan does changes the cache."""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from repolens.errors import FetchError, GitError
from repolens.git import arguments
from repolens.git.commands import git
from repolens.git.credentials import Credentials, for_fetch

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_url(location: str) -> bool:
    return "://" in location or bool(_SCP_LIKE.match(location))


def redact(url: str) -> str:
    """The URL without any credentials in it, for messages and reports."""
    return re.sub(r"://[^/@]*@", "://", url)


class Mirror:
    """The mirror cache under one directory."""

    def __init__(self, root: Path, timeout: float = 300.0) -> None:
        self.root = root
        self.timeout = timeout

    def path_for(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()[:24]
        return self.root / f"{digest}.git"

    def sync(
        self, url: str, credentials: Credentials | None = None, resolve: str | None = None
    ) -> Path:
        """Clone the URL into the cache, or fetch it if it is there already;
        RESOLVE (`host:port:address`) is where git must connect."""
        url = arguments.remote(url)
        path = self.path_for(url)
        env = for_fetch(url, credentials, resolve)
        with self._locked(path):
            try:
                if (path / "HEAD").exists():
                    git(["remote", "update", "--prune"], git_dir=path, timeout=self.timeout,
                        env=env)  # fmt: skip
                else:
                    self._clone(url, path, env)
            except GitError as exc:
                raise FetchError(f"could not fetch {redact(url)}: {exc}") from exc
        return path

    def fetch_ref(self, url: str, ref: str, credentials: Credentials | None = None,
                  resolve: str | None = None) -> None:  # fmt: skip
        """Fetch one ref (or commit) the mirror's refspecs did not bring."""
        path = self.path_for(url)
        ref = arguments.revision(ref)
        env = for_fetch(url, credentials, resolve)
        with self._locked(path):
            git(["fetch", "--quiet", "--end-of-options", "origin", ref], git_dir=path,
                timeout=self.timeout, env=env)  # fmt: skip

    def _clone(self, url: str, path: Path, env: dict[str, str] | None) -> None:
        partial = path.with_suffix(".partial")
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
        git(["clone", "--mirror", "--quiet", "--", url, str(partial)], timeout=self.timeout,
            env=env)  # fmt: skip
        partial.rename(path)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
