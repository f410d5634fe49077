from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repolens.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def seed_file(prefix: str) -> Path:
    """The design document PREFIX from ../shared/seeds, beside a checkout of the
    repository; the test is skipped, saying why, where it is not there."""
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"the seed documents are not beside this checkout ({SEEDS})")
    return found[0]


class Repo:
    """A real git repository in a temporary directory, for tests to commit to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, files: dict[str, str | bytes], message: str = "change") -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="session", autouse=True)
def trusted_test_locations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The service refuses local repositories and loopback targets by default.
    The tests' repositories live under pytest's temporary directory and their
    receivers on loopback, so those two are allowed, for this process and the
    servers and workers it starts; tests/security checks the defaults."""
    # (and the command line's config file is the tests' own)
    allowed = {
        "REPOLENS_LOCAL_REPOSITORY_ROOTS": str(tmp_path_factory.getbasetemp()),
        "REPOLENS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        # A server's first start keeps its admin's token for the command line: in
        # the tests' own place, never the home directory of whoever runs them.
        "REPOLENS_CLI_CONFIG": str(tmp_path_factory.getbasetemp() / "cli-config.toml"),
    }
    before = {name: os.environ.get(name) for name in allowed}
    os.environ.update(allowed)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Repo]:
    def make(name: str = "repo") -> Repo:
        return Repo(tmp_path / name)

    return make


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", workers=2)
