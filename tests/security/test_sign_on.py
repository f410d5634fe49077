"""Single sign-on against a real identity provider on loopback: OpenID Connect
and GitHub OAuth end to end, and the attacks the flow's state, nonce and PKCE
verifier stop: a forged state, another browser's state, a replayed code, an
ID token for another nonce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.security import audit, identity
from repolens.settings import Settings
from repolens.storage import db, migrate, models, projects
from tests.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider

API = "/api/v1"
ANN = {"sub": "u-17", "preferred_username": "Ann.Lee", "email": "ann@example.com",
       "name": "Ann Lee", "groups": ["backend"], "id": 17, "login": "ann-lee"}  # fmt: skip
ROLES = {
    "oidc:platform": "admin",
    "oidc:backend": {"api": "maintainer", "web": "viewer"},
    "github:acme-platform": "admin",
}


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    made = IdentityProvider(who=dict(ANN), orgs=["acme-platform"])
    server = made.serve()
    yield made
    server.shutdown()


@pytest.fixture
def settings(tmp_path: Path, provider: IdentityProvider) -> Settings:
    made = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                    cache_dir=tmp_path / "cache", data_dir=tmp_path / "data",
                    oidc_issuer=provider.url, oidc_client_id=CLIENT_ID,
                    oidc_client_secret=CLIENT_SECRET, github_client_id=CLIENT_ID,
                    github_client_secret=CLIENT_SECRET, github_oauth_url=provider.url,
                    github_api_url=f"{provider.url}/api", sso_roles=ROLES)  # fmt: skip
    migrate.upgrade(made)
    with db.sessions(db.engine(made)).begin() as session:
        for name in ("api", "web"):
            projects.create(session, name=name, repository_url=f"https://example.com/o/{name}")
    return made


def browser_of(settings: Settings) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False)


@pytest.fixture
def browser(settings: Settings) -> Iterator[TestClient]:
    with browser_of(settings) as client:
        yield client


def begin(browser: TestClient, provider: str = "oidc", next: str = f"{API}/me") -> str:
    """Start a sign-in; the provider's answer: the callback path with its code and state."""
    off = browser.get(f"/login/{provider}", params={"next": next})
    assert off.status_code == 302, off.text
    back = httpx.get(off.headers["location"], follow_redirects=False)
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}"


def users(settings: Settings) -> list[str]:
    with db.sessions(db.engine(settings))() as session:
        return [user.username for user in identity.all(session)]


def failed_logins(settings: Settings) -> list[str | None]:
    with db.sessions(db.engine(settings))() as session:
        return [e.target for e in audit.entries(session) if e.action == "login.failed"]


def test_first_oidc_sign_in_makes_the_user_with_their_groups_roles_and_the_next_reuses_them(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    first = browser.get(begin(browser))
    me = browser.get(f"{API}/me").json()
    asked = dict(provider.asked)["/authorize"]
    browser.cookies.clear()
    again = browser.get(begin(browser))

    assert first.status_code == 303 and first.headers["location"] == f"{API}/me"
    assert me["name"] == "ann.lee" and me["roles"] == {"1": "maintainer", "2": "viewer"}
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert "openid" in asked["scope"].split()
    assert again.status_code == 303 and users(settings) == ["ann.lee"]


def test_a_callback_with_a_forged_state_is_refused_and_noted(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    path = begin(browser)
    code = parse_qs(urlsplit(path).query)["code"][0]

    forged = browser.get("/login/oidc/callback", params={"code": code, "state": "made-up"})

    assert forged.status_code == 400 and "could not be verified" in forged.text
    assert "repolens_session" not in browser.cookies
    assert users(settings) == [] and failed_logins(settings) == ["oidc"]
    assert provider.refused == []  # refused before the code was ever sent


def test_a_callback_carrying_another_browsers_state_is_refused(
    browser: TestClient, settings: Settings
) -> None:
    with browser_of(settings) as attacker:
        planted = begin(attacker)  # the attacker's own code and state, sent to the victim

    victim = browser.get(planted)

    assert victim.status_code == 400 and users(settings) == []


def test_a_replayed_callback_and_a_replayed_code_are_refused(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    path = begin(browser)
    used = browser.get(path)
    replayed = browser.get(path)
    old_code = parse_qs(urlsplit(path).query)["code"][0]
    fresh_state = parse_qs(urlsplit(begin(browser)).query)["state"][0]
    reused = browser.get("/login/oidc/callback", params={"code": old_code, "state": fresh_state})

    assert used.status_code == 303
    assert replayed.status_code == 400  # its state was taken by the first
    assert reused.status_code == 400 and provider.refused == ["code already used"]


def test_an_id_token_carrying_another_nonce_is_refused(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    provider.nonce = "a-nonce-from-another-sign-in"

    answer = browser.get(begin(browser))

    assert answer.status_code == 400 and users(settings) == []
    assert "repolens_session" not in browser.cookies


def test_github_sign_in_maps_organisations_to_roles(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    answer = browser.get(begin(browser, "github"))
    me = browser.get(f"{API}/me").json()
    token_request = dict(provider.asked)["/login/oauth/access_token"]

    assert answer.status_code == 303 and me["name"] == "ann-lee" and me["admin"] is True
    assert token_request["code_verifier"]  # PKCE, checked by the provider


def test_someone_in_no_group_this_server_lets_in_is_turned_away(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    provider.orgs = ["somebody-elses-org"]
    provider.who["groups"] = ["somebody-elses-group"]

    on_github = browser.get(begin(browser, "github"))
    on_oidc = browser.get(begin(browser, "oidc"))

    assert on_github.status_code == on_oidc.status_code == 403 and "no group" in on_oidc.text
    assert users(settings) == [] and "repolens_session" not in browser.cookies


def test_a_github_organisation_named_like_an_oidc_group_is_given_nothing(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    provider.orgs = ["platform"]  # anyone may make an organisation of that name on GitHub

    answer = browser.get(begin(browser, "github"))

    assert answer.status_code == 403 and users(settings) == []


def test_roles_follow_groups_and_a_role_given_by_hand_stays(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    provider.who["groups"] = ["platform", "backend"]
    browser.get(begin(browser))
    with db.sessions(db.engine(settings)).begin() as session:
        ann = identity.by_name(session, "ann.lee")
        identity.add_member(session, ann.id, projects.by_name(session, "web").id,
                            models.Role.ADMIN)  # by hand  # fmt: skip
    before = browser.get(f"{API}/me").json()
    provider.who["groups"] = ["backend"]  # taken out of platform at the provider
    browser.cookies.clear()
    browser.get(begin(browser))
    after = browser.get(f"{API}/me").json()
    provider.who["groups"] = ["elsewhere"]
    browser.cookies.clear()
    gone = browser.get(begin(browser))

    assert before["admin"] is True and before["roles"] == {"1": "maintainer", "2": "admin"}
    assert after["admin"] is False and after["roles"] == {"1": "maintainer", "2": "admin"}
    assert gone.status_code == 403


def test_an_open_private_issuer_lets_its_users_in_with_no_role(
    provider: IdentityProvider, settings: Settings
) -> None:
    provider.who["groups"] = []
    with browser_of(settings.model_copy(update={"sso_open": True})) as browser:
        answer = browser.get(begin(browser))
        me = browser.get(f"{API}/me").json()

    assert answer.status_code == 303 and me["roles"] == {} and me["admin"] is False


def test_a_providers_name_never_takes_over_an_account_that_is_already_here(
    browser: TestClient, provider: IdentityProvider, settings: Settings
) -> None:
    with db.sessions(db.engine(settings)).begin() as session:
        identity.create(session, "ann.lee", password="the real ann's password", admin=True)

    browser.get(begin(browser))
    me = browser.get(f"{API}/me").json()

    assert me["name"] == "ann.lee-2" and me["admin"] is False


def test_sign_on_is_not_found_for_a_provider_that_is_not_configured(
    browser: TestClient,
) -> None:
    assert browser.get("/login/gitlab").status_code == 404
    page = browser.get("/login")
    assert 'href="/login/oidc?next=/api/v1/me"' in page.text and "/login/github" in page.text
