"""The single git subprocess wrapper."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from repolens.errors import GitError
from repolens.git.arguments import PROTOCOLS
from repolens.settings import child_environment

# Only these transports, whatever the user's or system's git configuration says.
_ENVIRONMENT = {"GIT_ALLOW_PROTOCOL": ":".join(PROTOCOLS)}


def git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    timeout: float = 300.0,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
) -> str:
    """Run `git ARGS` and return its standard output; failures raise GitError
    with git's own message. Whatever in ARGS came from outside has passed
    `git.arguments` and stands after `--end-of-options` or `--`."""
    argv = ["git", "-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always"]
    if git_dir is not None:
        argv += ["--git-dir", str(git_dir)]
    argv += list(args)
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=child_environment({**_ENVIRONMENT, **(env or {})}),
            capture_output=True,
            stdin=None if input is not None else subprocess.DEVNULL,
            input=input,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        # git says what went wrong on its fatal:/error: line; what follows is advice.
        said = [line for line in lines if line.startswith(("fatal:", "error:"))]
        raise GitError((said or lines or [f"git {args[0]} failed"])[0])
    return done.stdout.decode("utf-8", errors="surrogateescape")


def is_repository(path: Path) -> bool:
    try:
        top = git(["rev-parse", "--show-toplevel"], cwd=path, timeout=30).strip()
    except (GitError, OSError):
        return False
    return Path(top).resolve() == path.resolve()


def null_separated(output: str) -> list[str]:
    return [item for item in output.split("\0") if item]
