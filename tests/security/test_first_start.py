"""A deployment's first start: an admin is made, their token kept for the
command line (owner only) and, on a terminal only, shown with a one-time
sign-in link; a log never holds either. No caller gets in without an account."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from repolens.cli import credentials
from tests.security.test_rate_limits import free_port
from tests.workers import stop

API = "/api/v1"


class Server:
    def __init__(self, home: Path, stderr: int | IO[bytes]) -> None:
        self.port, self.home = free_port(), home
        self.cli_config = home / "cli.toml"
        env = {**os.environ, "REPOLENS_DATA_DIR": str(home / "data"),
               "REPOLENS_CACHE_DIR": str(home / "cache"), "REPOLENS_JOB_WORKERS": "1",
               "REPOLENS_CLI_CONFIG": str(self.cli_config)}  # fmt: skip
        env.pop("REPOLENS_API_TOKEN", None)
        self.log = home / f"serve{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "repolens", "serve", "--port", str(self.port)], env=env,
            stdout=self.log.open("wb"), stderr=stderr, start_new_session=True)  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while not self._healthy():
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}{API}/health", timeout=1).is_success
        except httpx.HTTPError:
            return False


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for server in servers:
        stop(server.process)


def test_the_first_start_makes_an_admin_whose_token_only_the_command_line_keeps(
    tmp_path: Path, started: list[Server]
) -> None:
    first = Server(tmp_path, subprocess.STDOUT)
    started.append(first)
    token = credentials.kept(first.cli_config)
    me = httpx.get(f"{first.url}{API}/me", headers={"Authorization": f"Bearer {token}"})
    anonymous = httpx.get(f"{first.url}{API}/projects")
    stop(first.process)
    again = Server(tmp_path, subprocess.STDOUT)
    started.append(again)

    assert token is not None and token.startswith("rlpat_")
    assert first.cli_config.stat().st_mode & 0o777 == 0o600
    assert me.status_code == 200 and me.json()["name"] == "admin" and me.json()["admin"]
    assert anonymous.status_code == 401
    said = first.log.read_text()
    assert "first start" in said and "user admin is the admin" in said
    assert token not in said and "code=" not in said  # shown on a terminal only
    assert "first start" not in again.log.read_text()  # once, for good
    assert credentials.kept(again.cli_config) == token


def test_on_a_terminal_the_first_start_shows_a_link_that_signs_in_once(
    tmp_path: Path, started: list[Server]
) -> None:
    terminal, its_end = pty.openpty()
    server = Server(tmp_path, its_end)
    started.append(server)
    os.close(its_end)
    shown = _read_until(terminal, "API token")
    link = re.search(r"(http://\S+/login/once\?code=[\w-]+)", shown)
    token = re.search(r"API token.*?(rlpat_\w+)", shown)
    assert link and token, shown

    with httpx.Client(base_url=server.url) as browser:
        page = browser.get(link.group(1))
        code = link.group(1).split("code=")[1]
        signed = browser.post("/login/once", data={"code": code})
        me = browser.get(f"{API}/me")
    with httpx.Client(base_url=server.url) as someone_else:
        reused = someone_else.post("/login/once", data={"code": code})

    assert page.status_code == 200 and 'action="/login/once"' in page.text
    assert signed.status_code == 303 and me.json()["name"] == "admin"
    assert reused.status_code == 401 and "repolens_session" not in someone_else.cookies
    by_token = httpx.get(f"{server.url}{API}/me",
                         headers={"Authorization": f"Bearer {token.group(1)}"})  # fmt: skip
    assert by_token.json()["admin"] is True
    assert token.group(1) not in server.log.read_text()


def _read_until(terminal: int, wanted: str) -> str:
    shown, deadline = "", time.monotonic() + 60
    while wanted not in shown or not shown.endswith("\n"):
        assert time.monotonic() < deadline, shown
        ready, _, _ = select.select([terminal], [], [], 1)
        if ready:
            shown += os.read(terminal, 4096).decode(errors="replace")
    return re.sub(r"\x1b\[[0-9;]*m", "", shown)
