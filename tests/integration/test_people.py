"""Users, roles and API tokens as their holders meet them: over the API and the
command line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repolens.app import create_app
from repolens.errors import Conflict
from repolens.security import identity, passwords, tokens
from repolens.security.policy import Scope
from repolens.settings import Settings
from repolens.storage import db, migrate, models
from tests.integration.test_api import API


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    made = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                    cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")  # fmt: skip
    migrate.upgrade(made)
    return made


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def account(settings: Settings, name: str, scopes: list[Scope] | None = None,
            admin: bool = False) -> str:  # fmt: skip
    """A user NAME and a token of theirs."""
    with db.sessions(db.engine(settings)).begin() as session:
        user = identity.create(session, name, admin=admin)
        return identity.issue_token(session, user, "t", scopes or list(Scope))[1]


def test_a_token_is_shown_once_kept_only_as_a_digest_and_names_its_owner(
    client: TestClient, settings: Settings
) -> None:
    admin = account(settings, "root", admin=True)
    client.post(f"{API}/users", json={"username": "dev", "password": "a long enough password"},
                headers=bearer(admin))  # fmt: skip
    with db.sessions(db.engine(settings)).begin() as session:
        dev = identity.by_name(session, "dev")
        assert dev.password_hash and dev.password_hash.startswith("$argon2id$")
        own = identity.issue_token(session, dev, "bootstrap", list(Scope))[1]

    made = client.post(f"{API}/tokens", json={"name": "ci", "scopes": ["read"]},
                       headers=bearer(own))  # fmt: skip
    listed = client.get(f"{API}/tokens", headers=bearer(own)).json()
    me = client.get(f"{API}/me", headers=bearer(made.json()["token"])).json()

    token = made.json()["token"]
    assert made.status_code == 201 and tokens.is_token(token) and token.startswith("rlpat_")
    assert all("token" not in item for item in listed)
    assert [item["hint"] for item in listed] == [own[:10], token[:10]]
    assert (me["name"], me["scopes"]) == ("dev", ["read"])
    with db.sessions(db.engine(settings))() as session:
        stored = session.scalars(select(models.ApiToken.digest)).all()
        assert tokens.digest(token) in stored and token not in str(stored)


def test_revoked_expired_and_disabled_users_tokens_stop_working_at_once(
    client: TestClient, settings: Settings
) -> None:
    admin = account(settings, "root", admin=True)
    with db.sessions(db.engine(settings)).begin() as session:
        user = identity.create(session, "dev")
        kept = identity.issue_token(session, user, "kept", list(Scope))[1]
        revoked_record, revoked = identity.issue_token(session, user, "r", list(Scope))
        expired_record, expired = identity.issue_token(session, user, "e", list(Scope),
                                                       timedelta(days=1))  # fmt: skip
        expired_record.expires_at = models.now() - timedelta(seconds=1)
    assert client.get(f"{API}/me", headers=bearer(revoked)).status_code == 200

    client.delete(f"{API}/tokens/{revoked_record.id}", headers=bearer(kept))
    answers = [client.get(f"{API}/me", headers=bearer(t)).status_code
               for t in (revoked, expired, kept)]  # fmt: skip
    client.patch(f"{API}/users/{user.id}", json={"disabled": True}, headers=bearer(admin))
    after = client.get(f"{API}/me", headers=bearer(kept))

    assert answers == [401, 401, 200]
    assert after.status_code == 401 and after.headers["content-type"] == "application/problem+json"


def test_a_token_cannot_be_given_more_scopes_than_the_one_asking_for_it(
    client: TestClient, settings: Settings
) -> None:
    read_only = account(settings, "dev", [Scope.READ])

    wider = client.post(f"{API}/tokens", json={"name": "x", "scopes": ["write"]},
                        headers=bearer(read_only))  # fmt: skip

    assert wider.status_code == 403


def test_a_token_s_last_use_is_noted_at_most_once_a_minute(settings: Settings) -> None:
    token = account(settings, "dev")
    sessions = db.sessions(db.engine(settings))
    moments = [models.now() + timedelta(seconds=s) for s in (0, 30, 61)]
    seen = []
    for moment in moments:
        with sessions.begin() as session:
            assert identity.bearer_of(session, token, moment) is not None
        with sessions() as session:
            seen.append(session.scalar(select(models.ApiToken.last_used_at)))

    assert seen == [moments[0], moments[0], moments[2]]


def test_who_adds_a_project_administers_it_and_others_do_not_see_it(
    client: TestClient, settings: Settings
) -> None:
    alice, bob = account(settings, "alice"), account(settings, "bob")

    wanted = {"name": "a", "repository_url": "https://example.com/o/a"}
    project = client.post(f"{API}/projects", json=wanted, headers=bearer(alice)).json()["id"]

    assert client.get(f"{API}/me", headers=bearer(alice)).json()["roles"] == {str(project): "admin"}
    assert [p["id"] for p in client.get(f"{API}/projects", headers=bearer(alice)).json()] == [
        project
    ]
    assert client.get(f"{API}/projects", headers=bearer(bob)).json() == []
    assert client.get(f"{API}/projects/{project}", headers=bearer(bob)).status_code == 404
    assert client.get(f"{API}/projects/{project}").status_code == 401  # accounts exist now


def test_a_password_is_checked_against_its_argon2_hash() -> None:
    stored = passwords.hashed("correct horse battery staple")

    assert passwords.matches(stored, "correct horse battery staple")
    assert not passwords.matches(stored, "correct horse battery stapler")
    assert not passwords.matches(None, "anything at all here")
    assert not passwords.matches("not a hash", "correct horse battery staple")


def test_a_name_that_does_not_exist_is_refused_only_after_a_hash_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []
    real = passwords._HASHER

    class Recording:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, given: str) -> bool:
            checked.append(given)
            return real.verify(stored, given)

    monkeypatch.setattr(passwords, "_HASHER", Recording())

    refused = passwords.matches(None, "a guess at someone's password")

    assert not refused and checked == ["a guess at someone's password"]  # as long as a wrong one


def test_the_command_line_makes_users_roles_and_tokens_the_api_accepts(
    client: TestClient, settings: Settings
) -> None:
    env = {**os.environ, "REPOLENS_DATABASE_URL": settings.database}

    def repolens(*args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "repolens", *args], input=stdin, text=True,
                              capture_output=True, env=env, check=True)  # fmt: skip
        return done.stdout.strip()

    admin = account(settings, "root", admin=True)
    project = client.post(f"{API}/projects", json={"name": "shop", "repository_url":
                                                   "https://example.com/o/shop"},
                          headers=bearer(admin)).json()["id"]  # fmt: skip
    repolens("user", "create", "carol", "--password-stdin", stdin="a long enough password\n")
    repolens("member", "add", "carol", "shop", "--role", "maintainer")
    token = repolens("token", "create", "carol", "--scope", "read", "--scope", "write")
    listed = repolens("user", "list")
    refreshed = client.post(f"{API}/projects/{project}/refresh", json={}, headers=bearer(token))
    repolens("user", "disable", "carol")

    assert "carol" in listed and refreshed.status_code == 202
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 401


def test_two_requests_for_the_same_new_username_at_once_give_one_user_and_one_conflict(
    sessions: sessionmaker[Session],
) -> None:
    first_wrote = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with sessions.begin() as session:
            outcomes["first"] = identity.create(session, "twin").id
            first_wrote.set()
            time.sleep(0.2)  # still uncommitted while the second one writes

    def second() -> None:
        first_wrote.wait(10)
        try:
            with sessions.begin() as session:
                outcomes["second"] = identity.create(session, "twin").id
        except Conflict as exc:
            outcomes["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert isinstance(outcomes["first"], int)
    assert isinstance(outcomes["second"], Conflict) and "already exists" in str(outcomes["second"])
