"""Turning what the user pointed at (a directory, a local repository, a URL)
into a `Checkout`: a directory of files at one exact commit, plus the list of
paths that belong to it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from repolens.errors import GitError, InputError, RefNotFoundError
from repolens.git.commands import git, is_repository, null_separated
from repolens.git.mirror import Mirror, is_url, redact


@dataclass
class Checkout:
    """Files at one commit under `root`, read-only for everything downstream."""

    label: str
    root: Path
    paths: list[str]
    commit: str | None = None
    git_dir: Path | None = None
    working_tree: bool = False
    warnings: list[str] = field(default_factory=list)

    def changed_since(self, ref: str, timeout: float = 300.0) -> set[str]:
        """Paths that differ between REF and this checkout."""
        if self.git_dir is None:
            raise InputError("--since needs a git repository")
        base = _resolve(self.git_dir, ref, timeout)
        if self.working_tree:
            diff = git(["diff", "--name-only", "-z", base], cwd=self.root, timeout=timeout)
            untracked = git(
                ["ls-files", "-z", "--others", "--exclude-standard"], cwd=self.root, timeout=timeout
            )
            return set(null_separated(diff)) | set(null_separated(untracked))
        if self.commit is None:
            return set(self.paths)
        diff = git(["diff", "--name-only", "-z", base, self.commit], git_dir=self.git_dir)
        return set(null_separated(diff))


@contextmanager
def open_checkout(
    location: str, ref: str | None, mirrors: Mirror, timeout: float = 300.0
) -> Iterator[Checkout]:
    """Yield a checkout of LOCATION at REF; a temporary tree is removed after."""
    if is_url(location):
        git_dir = mirrors.sync(location)
        with _materialize(redact(location), git_dir, ref, timeout, mirrors, location) as checkout:
            yield checkout
        return
    path = Path(location).expanduser()
    if not path.exists():
        raise InputError(f"{location}: no such directory, and not a repository URL")
    if not path.is_dir():
        raise InputError(f"{location}: not a directory")
    if is_repository(path):
        git_dir = Path(git(["rev-parse", "--absolute-git-dir"], cwd=path).strip())
        if ref is None:
            yield _working_tree(path, git_dir, timeout)
        else:
            with _materialize(str(path), git_dir, ref, timeout) as checkout:
                yield checkout
        return
    if ref is not None:
        raise InputError(f"{location} is not a git repository, so --ref cannot be used")
    yield Checkout(label=str(path), root=path.resolve(), paths=_walk(path.resolve()))


def _resolve(git_dir: Path, ref: str, timeout: float) -> str:
    try:
        return git(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
            git_dir=git_dir,
            timeout=timeout,
        ).strip()
    except GitError as exc:
        raise RefNotFoundError(f"ref {ref!r} not found") from exc


def _has_commits(git_dir: Path, timeout: float) -> bool:
    try:
        git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], git_dir=git_dir, timeout=timeout)
    except GitError:
        return bool(git(["for-each-ref", "--count=1"], git_dir=git_dir, timeout=timeout).strip())
    return True


@contextmanager
def _materialize(
    label: str,
    git_dir: Path,
    ref: str | None,
    timeout: float,
    mirrors: Mirror | None = None,
    url: str | None = None,
) -> Iterator[Checkout]:
    with tempfile.TemporaryDirectory(prefix="repolens-") as scratch:
        tree = Path(scratch) / "tree"
        tree.mkdir()
        if ref is None and not _has_commits(git_dir, timeout):
            yield Checkout(label, tree, [], git_dir=git_dir, warnings=["the repository is empty"])
            return
        commit = _resolve_or_fetch(git_dir, ref or "HEAD", timeout, mirrors, url)
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(["read-tree", commit], git_dir=git_dir, env=env, timeout=timeout)
        git(
            ["--work-tree", str(tree), "checkout-index", "--all", "--force"],
            git_dir=git_dir,
            env=env,
            timeout=timeout,
        )
        listing = git(["ls-tree", "-r", "-z", "--name-only", commit], git_dir=git_dir)
        yield Checkout(label, tree, null_separated(listing), commit=commit, git_dir=git_dir)


def _resolve_or_fetch(
    git_dir: Path, ref: str, timeout: float, mirrors: Mirror | None, url: str | None
) -> str:
    try:
        return _resolve(git_dir, ref, timeout)
    except RefNotFoundError:
        if mirrors is None or url is None:
            raise
    try:
        mirrors.fetch_ref(url, ref)
    except GitError as exc:
        raise RefNotFoundError(f"ref {ref!r} not found in {redact(url)}") from exc
    return _resolve(git_dir, "FETCH_HEAD", timeout)


def _working_tree(path: Path, git_dir: Path, timeout: float) -> Checkout:
    listing = git(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=path, timeout=timeout
    )
    commit = None
    warnings = []
    if _has_commits(git_dir, timeout):
        commit = git(["rev-parse", "HEAD"], cwd=path, timeout=timeout).strip()
    else:
        warnings.append("the repository has no commits yet")
    paths = sorted(set(null_separated(listing)))
    return Checkout(str(path), path.resolve(), paths, commit, git_dir, True, warnings)


def _walk(root: Path) -> list[str]:
    """Every file below ROOT that its .gitignore files do not exclude; links
    are not followed, so a symlink loop cannot trap the walk."""
    found: list[str] = []
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        ignore_file = Path(directory) / ".gitignore"
        if ignore_file.is_file():
            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((prefix, pathspec.GitIgnoreSpec.from_lines(lines)))
        dirnames[:] = [
            d for d in sorted(dirnames) if d != ".git" and not _ignored(prefix + d + "/", specs)
        ]
        found.extend(prefix + f for f in sorted(filenames) if not _ignored(prefix + f, specs))
    return found


def _ignored(path: str, specs: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    return any(
        path.startswith(prefix) and spec.match_file(path[len(prefix) :]) for prefix, spec in specs
    )
