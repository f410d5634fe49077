from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from repolens.settings import Settings
from repolens.storage import db, migrate
from tests.integration.databases import database_url


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def report(self, out: Path) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((out / "report.json").read_text())
        return data


@pytest.fixture
def repolens(tmp_path: Path) -> Callable[..., Result]:
    """Run the real `repolens` command in a child process, as a user would."""

    def run(*args: str, cwd: Path | None = None, **env: str) -> Result:
        environment = {**os.environ, "REPOLENS_CACHE_DIR": str(tmp_path / "cache"),
                       "REPOLENS_DATA_DIR": str(tmp_path / "data"), **env}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "repolens", *args],
            cwd=cwd or tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated database of each kind."""
    with database_url(request.param, tmp_path) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        engine = db.engine(settings)
        yield db.sessions(engine)
        engine.dispose()
