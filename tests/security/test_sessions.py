"""A browser signs in: a login form, a session cookie that scripts cannot read
and other sites cannot use to change anything, and signing out that makes the
old cookie worthless."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.security import identity
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects

API = "/api/v1"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    made = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                    cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")  # fmt: skip
    migrate.upgrade(made)
    with db.sessions(db.engine(made)).begin() as session:
        user = identity.create(session, "ann", password=PASSWORD)
        project = projects.create(session, name="p", repository_url="https://example.com/o/p")
        identity.add_member(session, user.id, project.id, models.Role.MAINTAINER)
    return made


@pytest.fixture
def browser(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def sign_in(browser: TestClient, password: str = PASSWORD, **extra: str) -> object:
    return browser.post("/login", data={"username": "ann", "password": password, **extra})


def test_sign_in_act_with_the_csrf_token_sign_out_and_the_old_cookie_is_refused(
    browser: TestClient,
) -> None:
    page = browser.get("/login")
    signed = browser.post("/login", data={"username": "ann", "password": PASSWORD})
    cookie = browser.cookies["repolens_session"]
    me = browser.get(f"{API}/me").json()
    forged = browser.post(f"{API}/projects/1/refresh", json={})  # what another site's form does
    acted = browser.post(f"{API}/projects/1/refresh", json={},
                         headers={"X-CSRF-Token": me["csrf_token"]})  # fmt: skip
    out = browser.post("/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    browser.cookies.clear()
    browser.cookies.set("repolens_session", cookie)
    after = browser.get(f"{API}/me")

    assert page.status_code == 200 and '<form method="post" action="/login">' in page.text
    assert signed.status_code == 303 and signed.headers["location"] == f"{API}/me"
    set_cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # plain http: a Secure cookie would never come back
    assert me["name"] == "ann" and me["csrf_token"]
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
    assert acted.status_code == 202 and out.status_code == 204
    assert after.status_code == 401


def test_a_wrong_password_another_site_s_form_and_a_far_redirect_get_nowhere(
    browser: TestClient,
) -> None:
    wrong = sign_in(browser, "not the password at all")
    cross = browser.post("/login", data={"username": "ann", "password": PASSWORD},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
    landings = [sign_in(browser, next=far).headers["location"]
                for far in ("https://evil.example/", "//evil.example", "/\\evil.example",
                            "javascript:alert(1)", f"{API}/projects")]  # fmt: skip

    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text  # type: ignore[attr-defined]
    assert "repolens_session" not in wrong.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert cross.status_code == 403
    assert landings == [f"{API}/me"] * 4 + [f"{API}/projects"]


def test_signing_in_again_replaces_the_session_and_the_fixed_cookie_is_worthless(
    browser: TestClient,
) -> None:
    sign_in(browser)
    first = browser.cookies["repolens_session"]
    sign_in(browser)
    second = browser.cookies["repolens_session"]
    browser.cookies.clear()
    browser.cookies.set("repolens_session", first)
    old = browser.get(f"{API}/me")

    assert first != second and old.status_code == 401


def test_the_cookie_is_secure_behind_tls(settings: Settings) -> None:
    behind_tls = settings.model_copy(update={"public_url": "https://repolens.example.com"})
    with TestClient(create_app(behind_tls), follow_redirects=False) as browser:
        signed = sign_in(browser)

    assert "secure" in signed.headers["set-cookie"].lower()  # type: ignore[attr-defined]


def test_a_disabled_user_s_browser_is_signed_out_at_once(
    browser: TestClient, settings: Settings
) -> None:
    sign_in(browser)
    with db.sessions(db.engine(settings)).begin() as session:
        identity.by_name(session, "ann").disabled = True

    assert browser.get(f"{API}/me").status_code == 401
