"""Running an external analysis tool as a subprocess, the one way every
built-in analyzer does it."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repolens import __version__
from repolens.analyzers.base import Severity
from repolens.errors import ToolError

# A linter's own levels, as repolens ranks them: its errors are worth a look, not
# more, unless one of its rules says otherwise.
LINT_LEVELS = {
    "error": Severity.MEDIUM,
    "warning": Severity.LOW,
    "info": Severity.INFO,
    "style": Severity.INFO,
}


def executable(name: str) -> str:
    """The tool installed beside this Python first (a venv's bin), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"{name} is not installed")
    return found


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    ok_codes: Sequence[int] = (0,),
) -> str:
    """Run a tool and return its standard output; a bad exit is a ToolError
    that quotes the tool's own last words."""
    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{Path(argv[0]).name} timed out after {timeout:.0f}s") from exc
    except OSError as exc:
        raise ToolError(f"{Path(argv[0]).name} could not start: {exc}") from exc
    stdout = done.stdout.decode("utf-8", errors="replace")
    if done.returncode not in ok_codes:
        stderr = done.stderr.decode("utf-8", errors="replace").strip()
        last = stderr.splitlines()[-1] if stderr else stdout.strip()[-300:]
        raise ToolError(f"{Path(argv[0]).name} exited with {done.returncode}: {last}")
    return stdout


def run_json(argv: Sequence[str], **kwargs: Any) -> Any:
    output = run(argv, **kwargs)
    try:
        return json.loads(output) if output.strip() else None
    except json.JSONDecodeError as exc:
        raise ToolError(f"{Path(argv[0]).name} printed output that is not JSON") from exc


@functools.cache
def package_version(distribution: str) -> str:
    """A Python library's version, with ours, for analyzers that import rather than exec."""
    from importlib.metadata import version as installed

    return f"{installed(distribution)}+repolens{__version__}"
