"""Refs and URLs from outside are data to git, never options, through every door."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repolens.errors import GitError, Refused
from repolens.git import arguments
from repolens.git.commands import git
from repolens.git.mirror import Mirror
from tests.conftest import Repo
from tests.integration.conftest import Result
from tests.security.conftest import API


def option_refs(marker: Path) -> list[str]:
    return [
        f"--upload-pack=touch {marker}",
        f"--upload-pack=touch${{IFS}}{marker}",
        f"-u touch {marker}",
        "--output=/tmp/repolens-should-not-exist",
        f"main --upload-pack=touch {marker}",
        f"-c core.sshCommand=touch {marker}",
        f"$(touch {marker})",
        f"main;touch {marker}",
        "refs/heads/../../etc/passwd",
        "main\nrefs/heads/x",
        "@{-1}",
    ]


@pytest.mark.parametrize("ref", ["main", "feature/login-form", "v1.2.3", "HEAD", "HEAD~2",
                                 "main^", "release-2026.11", "a" * 40, "0123abc"])  # fmt: skip
def test_ordinary_refs_pass_the_guard(ref: str) -> None:
    assert arguments.revision(ref) == ref


def test_option_looking_refs_are_refused_before_git_sees_them(tmp_path: Path) -> None:
    for ref in option_refs(tmp_path / "pwned"):
        with pytest.raises(Refused):
            arguments.revision(ref)


def test_a_refresh_with_an_option_for_a_ref_is_a_422_and_runs_nothing(
    make_client: Callable[..., TestClient], make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    client = make_client(local_repository_roots=[tmp_path])
    project = client.post(f"{API}/projects", json={"name": "p", "repository_url": str(repo.path)})
    marker = tmp_path / "pwned"
    for ref in option_refs(marker):
        refused = client.post(f"{API}/projects/{project.json()['id']}/refresh", json={"ref": ref})
        assert refused.status_code == 422, ref
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "body.ref"
    assert not marker.exists()
    branch = client.patch(f"{API}/projects/{project.json()['id']}",
                          json={"default_branch": f"--upload-pack=touch {marker}"})  # fmt: skip
    assert branch.status_code == 422


def test_the_api_and_the_command_line_refuse_a_ref_with_the_same_words(
    make_client: Callable[..., TestClient],
    make_repo: Callable[..., Repo],
    repolens: Callable[..., Result],
    tmp_path: Path,
) -> None:
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    ref = f"--upload-pack=touch {tmp_path / 'pwned'}"
    client = make_client(local_repository_roots=[tmp_path])
    project = client.post(f"{API}/projects", json={"name": "p", "repository_url": str(repo.path)})
    said = client.post(f"{API}/projects/{project.json()['id']}/refresh", json={"ref": ref})
    message = said.json()["errors"][0]["message"]

    scanned = repolens("scan", str(repo.path), "--ref", ref, "--out", str(tmp_path / "out"))
    assert (scanned.code, scanned.stderr) == (2, f"error: {message}\n")
    url = repolens("scan", repo.path.as_uri(), "--ref", ref, "--out", str(tmp_path / "out"))
    assert (url.code, url.stderr) == (2, f"error: {message}\n")
    assert not (tmp_path / "pwned").exists()


def test_a_ref_stored_behind_the_apis_back_is_still_refused_where_git_is_called(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo()
    repo.commit({"a.py": "x = 1\n"})
    mirrors = Mirror(tmp_path / "mirrors")
    mirrors.sync(repo.path.as_uri())
    marker = tmp_path / "pwned"
    for ref in option_refs(marker):
        with pytest.raises(Refused):
            mirrors.fetch_ref(repo.path.as_uri(), ref)
    assert not marker.exists()


@pytest.mark.parametrize("url", ["--upload-pack=touch {marker}", "-oProxyCommand=touch {marker}",
                                 "ext::sh -c touch% {marker}", "fd::17",
                                 "https://host/repo\n--upload-pack=x"])  # fmt: skip
def test_an_option_or_a_command_for_a_repository_url_is_refused(
    make_client: Callable[..., TestClient], tmp_path: Path, url: str
) -> None:
    url = url.format(marker=tmp_path / "pwned")
    client = make_client()
    refused = client.post(f"{API}/projects", json={"name": "p", "repository_url": url})
    assert refused.status_code == 422
    with pytest.raises(Refused):
        Mirror(tmp_path / "mirrors").sync(url)
    assert not (tmp_path / "pwned").exists()


def test_git_itself_will_not_speak_a_transport_that_runs_commands(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(GitError):
        git(["ls-remote", "--", f"ext::sh -c touch% {marker}"], timeout=30)
    assert not marker.exists()
