"""Turning what the user pointed at (a directory, a local repository, a URL)
into a `Checkout`: a directory of files at one exact commit, plus the list of
paths that belong to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from repolens.errors import FetchError, GitError, InputError, RefNotFoundError
from repolens.git import arguments
from repolens.git.commands import git, is_repository, null_separated
from repolens.git.credentials import Credentials
from repolens.git.mirror import Mirror, is_url, redact
from repolens.git.scratch import Scratch
from repolens.settings import Settings

SYMLINK_MODE = "120000"


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
    skipped: dict[str, str] = field(default_factory=dict)  # path: why it was not written
    branch: str | None = None  # what HEAD named, when no ref was asked for

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

    def renamed_since(self, ref: str, timeout: float = 300.0) -> dict[str, str]:
        """Files renamed between REF and this checkout, old path to new (git's
        rename detection); nothing when REF is not in the repository."""
        if self.git_dir is None or (self.commit is None and not self.working_tree):
            return {}
        try:
            base = _resolve(self.git_dir, ref, timeout)
        except RefNotFoundError:
            return {}
        args = ["diff", "-M", "--name-status", "-z", base]
        if self.working_tree:
            output = git(args, cwd=self.root, timeout=timeout)
        else:
            output = git([*args, str(self.commit)], git_dir=self.git_dir, timeout=timeout)
        listing = null_separated(output)
        renamed, index = {}, 0
        while index < len(listing):
            status = listing[index]
            if status.startswith("R") and index + 2 < len(listing):
                renamed[listing[index + 1]] = listing[index + 2]
                index += 3
            else:
                index += 3 if status.startswith("C") else 2
        return renamed


@dataclass(frozen=True)
class Limits:
    """What a checkout may write: files above `file_bytes` are left out, and a
    commit whose other files add up to more than `checkout_bytes` is refused."""

    file_bytes: int
    checkout_bytes: int
    timeout: float = 300.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_file_bytes, settings.max_checkout_bytes,
                   settings.git_timeout_seconds)  # fmt: skip


@contextmanager
def open_checkout(
    location: str,
    ref: str | None,
    settings: Settings,
    credentials: Credentials | None = None,
    resolve: str | None = None,
) -> Iterator[Checkout]:
    """Yield a checkout of LOCATION at REF; a scratch tree is removed after."""
    limits = Limits.of(settings)
    timeout = limits.timeout
    if ref is not None:
        ref = arguments.revision(ref)
    if is_url(location):
        mirrors = Mirror(settings.mirrors_dir, timeout)
        git_dir = mirrors.sync(location, credentials, resolve)
        fetch = _Fetch(mirrors, location, credentials, resolve)
        with _materialize(redact(location), git_dir, ref, Scratch(settings.checkouts_dir), limits,
                          fetch) as checkout:  # fmt: skip
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
            with _materialize(str(path), git_dir, ref, Scratch(settings.checkouts_dir),
                              limits) as checkout:  # fmt: skip
                yield checkout
        return
    if ref is not None:
        raise InputError(f"{location} is not a git repository, so --ref cannot be used")
    yield Checkout(label=str(path), root=path.resolve(), paths=_walk(path.resolve()))


@dataclass(frozen=True)
class _Fetch:
    """How to fetch a ref the mirror does not have yet."""

    mirrors: Mirror
    url: str
    credentials: Credentials | None
    resolve: str | None

    def ref(self, ref: str) -> None:
        self.mirrors.fetch_ref(self.url, ref, self.credentials, self.resolve)


def _resolve(git_dir: Path, ref: str, timeout: float) -> str:
    ref = arguments.revision(ref)
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
    scratch: Scratch,
    limits: Limits,
    fetch: _Fetch | None = None,
) -> Iterator[Checkout]:
    with scratch.directory() as directory:
        tree = directory / "tree"
        tree.mkdir()
        if ref is None and not _has_commits(git_dir, limits.timeout):
            yield Checkout(label, tree, [], git_dir=git_dir, warnings=["the repository is empty"])
            return
        commit = _resolve_or_fetch(git_dir, ref or "HEAD", limits.timeout, fetch)
        branch = None if ref else _head_branch(git_dir, limits.timeout)
        paths, skipped = _plan(git_dir, commit, limits, label)
        env = {"GIT_INDEX_FILE": str(directory / "index")}
        git(["read-tree", commit], git_dir=git_dir, env=env, timeout=limits.timeout)
        wanted = [path for path in paths if path not in skipped]
        git(["--work-tree", str(tree), "checkout-index", "--force", "-z", "--stdin"],
            git_dir=git_dir, env=env, timeout=limits.timeout,
            input=b"".join(os.fsencode(path) + b"\0" for path in wanted))  # fmt: skip
        yield Checkout(label, tree, paths, commit=commit, git_dir=git_dir, skipped=skipped,
                       branch=branch)  # fmt: skip


def _plan(
    git_dir: Path, commit: str, limits: Limits, label: str
) -> tuple[list[str], dict[str, str]]:
    """Every path of COMMIT, and those that are not to be written (too large,
    symbolic links, submodules) with why; refused when the rest is too big."""
    listing = git(["ls-tree", "-r", "-z", "-l", "--full-tree", commit], git_dir=git_dir,
                  timeout=limits.timeout)  # fmt: skip
    paths, skipped, total = [], {}, 0
    for entry in null_separated(listing):
        meta, _, path = entry.partition("\t")
        mode, kind, _object, size = meta.split()
        paths.append(path)
        if kind != "blob":
            skipped[path] = "submodule"
        elif mode == SYMLINK_MODE:
            skipped[path] = "symbolic link"
        elif int(size) > limits.file_bytes:
            skipped[path] = "too large"
        else:
            total += int(size)
    if total > limits.checkout_bytes:
        raise FetchError(
            f"{label} at {commit[:12]} has {_megabytes(total)} of files to check out, over the "
            f"limit of {_megabytes(limits.checkout_bytes)} (REPOLENS_MAX_CHECKOUT_BYTES)"
        )
    return paths, skipped


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _resolve_or_fetch(git_dir: Path, ref: str, timeout: float, fetch: _Fetch | None) -> str:
    try:
        return _resolve(git_dir, ref, timeout)
    except RefNotFoundError:
        if fetch is None:
            raise
    try:
        fetch.ref(ref)
    except GitError as exc:
        raise RefNotFoundError(f"ref {ref!r} not found in {redact(fetch.url)}") from exc
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
    return Checkout(str(path), path.resolve(), paths, commit, git_dir, True, warnings,
                    branch=_head_branch(git_dir, timeout))  # fmt: skip


def _head_branch(git_dir: Path, timeout: float) -> str | None:
    """The branch HEAD names (a mirror's HEAD is the remote's default); None
    when it is detached."""
    try:
        named = git(["symbolic-ref", "--quiet", "--short", "HEAD"], git_dir=git_dir,
                    timeout=timeout).strip()  # fmt: skip
    except GitError:
        return None
    return named or None


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
