"""Which repositories the service fetches: no server files, no credentials shown."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from repolens.errors import FetchError, Refused
from repolens.git.mirror import Mirror
from repolens.security import repositories
from repolens.security.repositories import RepositoryPolicy
from tests.integration.test_api import wait_until_done
from tests.recorder import Recorder
from tests.security.conftest import API

SERVER_FILES = ["/etc", "/etc/passwd", "file:///etc", "FILE:///etc", "file://localhost/etc",
                "/tmp/../etc", "~/.ssh", "./repo", "repo", "/root/.cache/repolens/mirrors",
                "file:///does/not/exist", "/does/not/exist", "git://host/repo.git",
                "ftp://host/repo.git", "http://[::1", "https://host:99999/r.git"]  # fmt: skip


@pytest.mark.parametrize("location", SERVER_FILES)
def test_server_paths_are_refused_by_default_and_say_nothing_about_them(
    make_client: Callable[..., TestClient], location: str
) -> None:
    refused = make_client().post(f"{API}/projects", json={"name": "p", "repository_url": location})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail == RepositoryPolicy()._refusal().message  # the same words, exists or not


def test_with_local_roots_only_paths_inside_them_pass(tmp_path: Path) -> None:
    root, outside = tmp_path / "repos", tmp_path / "secret"
    (root / "app").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    policy = RepositoryPolicy([root])
    assert policy.admit(str(root / "app")).url == str(root / "app")
    assert policy.admit((root / "app").as_uri()).url == (root / "app").as_uri()
    for escape in [
        str(root / ".." / "secret"),
        str(root / "link"),
        (root / "link").as_uri(),
        str(outside),
        f"{root}/app/../../secret",
        str(tmp_path / "repos-evil"),
    ]:
        with pytest.raises(Refused):
            policy.admit(escape)


def test_a_host_allow_list_keeps_other_hosts_out() -> None:
    policy = RepositoryPolicy(hosts=["git.example.com", "*.corp.example"])
    assert policy.admit("https://git.example.com/a/b.git").url == "https://git.example.com/a/b.git"
    assert policy.admit("git@src.corp.example:a/b.git").url == "git@src.corp.example:a/b.git"
    for other in ["https://evil.example/a.git", "ssh://git@git.example.com.evil/a.git",
                  "git@corp.example.evil:a/b.git"]:  # fmt: skip
        with pytest.raises(Refused):
            policy.admit(other)


@pytest.fixture
def forge() -> Iterator[Recorder]:
    """A forge's HTTP side that records what git asks for, and refuses."""
    server = Recorder([404])
    yield server
    server.shutdown()


def test_credentials_are_taken_out_sealed_and_never_shown(
    make_client: Callable[..., TestClient], tmp_path: Path, forge: Recorder
) -> None:
    port = forge.server_address[1]
    url = f"http://deploy:hunter2-secret@127.0.0.1:{port}/team/app.git"
    client = make_client(outbound_allowed_networks=["127.0.0.0/8"])  # the forge is loopback
    created = client.post(f"{API}/projects", json={"name": "app", "repository_url": url}).json()
    assert created["repository_url"] == f"http://127.0.0.1:{port}/team/app.git"
    assert created["repository_credentials"] is True
    listed = client.get(f"{API}/projects").text
    assert "hunter2" not in listed and "deploy" not in listed
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'repolens.db'}")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM projects")).one()
    engine.dispose()
    assert "hunter2" not in str(row)

    # The run hands them to git for this one fetch, as a header to that origin only.
    run = client.post(f"{API}/projects/{created['id']}/refresh", json={}).json()
    failed = wait_until_done(client, run["id"])
    assert failed["status"] == "failed" and "hunter2" not in failed["error"]
    expected = "Basic " + base64.b64encode(b"deploy:hunter2-secret").decode()
    asked = [(r.path, r.headers.get("Authorization")) for r in forge.received]
    assert ("/team/app.git/info/refs?service=git-upload-pack", expected) in asked
    assert not any("hunter2" in str(path) for path in (tmp_path / "cache").rglob("*"))


def test_stored_credentials_come_back_only_for_a_fetch(tmp_path: Path) -> None:
    from repolens.security.vault import Vault
    from repolens.settings import Settings

    vault = Vault.of(Settings(data_dir=tmp_path))
    admitted = RepositoryPolicy().admit("https://bot:t0ken@forge.example/a/b.git")
    columns = repositories.columns(admitted, vault)
    assert columns["repository_url"] == "https://forge.example/a/b.git"
    assert "t0ken" not in str(columns["repository_secret"]) and "t0ken" not in repr(admitted)
    again = repositories.stored(str(columns["repository_url"]), columns["repository_secret"],
                                RepositoryPolicy(), vault)  # fmt: skip
    assert again.credentials is not None and again.credentials.password == "t0ken"
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_a_refused_fetch_does_not_name_server_paths(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as raised:
        Mirror(tmp_path / "mirrors").sync("https://127.0.0.1:1/none.git")
    assert str(tmp_path) not in str(raised.value)


def test_the_command_line_refuses_a_server_path_with_the_apis_words(
    make_client: Callable[..., TestClient], repolens: Callable[..., Any], tmp_path: Path
) -> None:
    api = make_client().post(f"{API}/projects", json={"name": "p", "repository_url": "/etc"})
    cli = repolens("project", "add", "p", "/etc", REPOLENS_LOCAL_REPOSITORY_ROOTS="")
    assert (cli.code, cli.stderr) == (2, f"error: {api.json()['detail']}\n")


def test_a_repository_on_a_private_address_is_not_fetched(
    make_client: Callable[..., TestClient], forge: Recorder
) -> None:
    client = make_client()  # no private network allowed
    url = f"http://127.0.0.1:{forge.server_address[1]}/team/app.git"
    project = client.post(f"{API}/projects", json={"name": "p", "repository_url": url}).json()
    run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
    failed = wait_until_done(client, run["id"])
    assert failed["status"] == "failed" and "REPOLENS_OUTBOUND_ALLOWED_NETWORKS" in failed["error"]
    assert forge.received == []  # git never connected


def test_git_connects_to_the_address_that_was_checked(
    make_client: Callable[..., TestClient], forge: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    real = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "forge.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)  # a name only we can resolve
    client = make_client(outbound_allowed_networks=["127.0.0.0/8"])
    url = f"http://forge.example:{forge.server_address[1]}/team/app.git"
    project = client.post(f"{API}/projects", json={"name": "p", "repository_url": url}).json()
    run = client.post(f"{API}/projects/{project['id']}/refresh", json={}).json()
    wait_until_done(client, run["id"])
    assert [r.headers.get("Host") for r in forge.received][:1] == [
        f"forge.example:{forge.server_address[1]}"
    ]  # git asked nobody else: it went to the address checked here
