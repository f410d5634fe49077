"""A repository's files and configuration cannot exhaust the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from repolens import config, documents, scan
from repolens.errors import FetchError
from repolens.git.checkout import open_checkout
from repolens.git.scratch import Scratch
from repolens.settings import Settings
from tests.conftest import Repo

BOMB = ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "plan: {paths: *g}\n")  # fmt: skip


def test_a_yaml_alias_bomb_in_the_configuration_is_a_warning_not_an_outage(
    make_repo: Callable[..., Repo], settings: Settings
) -> None:
    repo = make_repo()
    repo.commit({".repolens.yml": BOMB, "docs/plan.md": "- [x] one\n",
                 "docker-compose.yml": BOMB.replace("plan", "services")})  # fmt: skip
    started = time.monotonic()
    report = scan.run(scan.ScanRequest(str(repo.path), analyzers=["plan", "skills"]), settings)
    assert time.monotonic() - started < 30
    warnings = [w for step in report.steps for w in step.warnings]
    assert any("anchors" in w for w in warnings)
    assert len(report.model_dump_json()) < 100_000


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(
    f"{'  ' * i}b:\n" for i in range(1, 200)), "x" * 2_000_000])  # fmt: skip
def test_deep_or_huge_yaml_is_refused_by_the_loader(text: str) -> None:
    with pytest.raises(documents.Unreadable):
        documents.yaml(text)


def test_deeply_nested_json_is_unreadable_not_a_crash() -> None:
    with pytest.raises(documents.Unreadable):
        documents.json("[" * 100_000 + "]" * 100_000)


def test_a_configuration_of_the_wrong_shape_keeps_the_defaults_with_warnings() -> None:
    settings, warnings = config.read("plan: {paths: 5, extra: 1}\nunknown: [1]\n")
    assert settings.plan.paths == []
    assert len(warnings) == 2 and "unknown" in warnings[0]
    assert config.read("- a list\n")[1] == [
        ".repolens.yml is ignored: its top level is not a mapping"
    ]


def test_a_file_over_the_size_limit_is_never_written_and_symlinks_are_not_followed(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.write({"small.py": "x = 1\n", "big.bin": b"0" * 5000})
    os.symlink("/etc/passwd", repo.path / "passwd")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
                        max_file_bytes=1000)  # fmt: skip
    with open_checkout(str(repo.path), "main", settings) as checkout:
        assert (checkout.root / "small.py").exists()
        assert not (checkout.root / "big.bin").exists()
        assert (
            not (checkout.root / "passwd").exists() and not (checkout.root / "passwd").is_symlink()
        )
        assert checkout.skipped == {"big.bin": "too large", "passwd": "symbolic link"}
        assert str(checkout.root).startswith(str(settings.checkouts_dir))
    assert list(settings.checkouts_dir.iterdir()) == []


def test_a_checkout_over_the_limit_fails_its_fetch_clearly(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({f"f{i}.txt": "y" * 900 for i in range(5)})
    settings = Settings(data_dir=tmp_path / "data", max_checkout_bytes=4000)
    too_big = pytest.raises(FetchError, match="REPOLENS_MAX_CHECKOUT_BYTES")
    with too_big, open_checkout(repo.path.as_uri(), None, settings):
        pass


HOLDER = """
import sys, time
from pathlib import Path
from repolens.git.scratch import Scratch
with Scratch(Path(sys.argv[1])).directory() as path:
    (path / "tree").mkdir()
    print(path, flush=True)
    time.sleep(600)
"""


def test_a_killed_process_checkout_is_swept_and_a_live_one_is_kept(tmp_path: Path) -> None:
    def holder() -> tuple[subprocess.Popen[str], Path]:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)],
                                   stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert process.stdout is not None
        return process, Path(process.stdout.readline().strip())

    killed, left = holder()
    alive, kept = holder()
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert left.exists()
        assert Scratch(tmp_path).sweep() == [left]
        assert not left.exists() and kept.exists()
    finally:
        alive.kill()
        alive.wait()
