"""Every door, checked: each route of the route table, answered for each kind of
caller with the status its access rule says. The expected answers are written
here by hand (who may do what), not derived from the policy they check, and a
route without exactly one access rule fails the suite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from repolens.api.deps import Rule
from repolens.app import create_app
from repolens.security import identity
from repolens.security.policy import Action, Scope
from repolens.settings import Settings
from repolens.storage import db, migrate, models
from tests.conftest import Repo
from tests.integration.test_api import API, wait_until_done

CALLERS = ["anonymous", "expired", "revoked", "stranger", "viewer", "read_only", "maintainer",
           "project_admin", "admin"]  # fmt: skip
SIGNED_OUT = {"anonymous", "expired", "revoked"}
SEES_THE_PROJECT = {"viewer", "read_only", "maintainer", "project_admin", "admin"}
# Who may do each action, where they see the project (a stranger sees only another one).
MAY = {
    None: {"stranger", "viewer", "read_only", "maintainer", "project_admin", "admin"},
    "read": {"viewer", "read_only", "maintainer", "project_admin", "admin"},
    "trigger": {"maintainer", "project_admin", "admin"},
    "triage": {"maintainer", "project_admin", "admin"},
    "edit": {"maintainer", "project_admin", "admin"},
    "manage": {"project_admin", "admin"},
    "create": {"stranger", "viewer", "maintainer", "project_admin", "admin"},
    "operate": {"admin"},
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/projects"): {"name": "new", "repository_url": "https://example.com/o/r"},
    ("PATCH", "/api/v1/projects/{project_id}"): {"plan_path": "PLAN.md"},
    ("POST", "/api/v1/projects/{project_id}/refresh"): {},
    ("PATCH", "/api/v1/findings/{finding_id}"): {"triage": "ignored"},
    ("POST", "/api/v1/users"): {"username": "newbie", "password": "a long enough password"},
    ("PATCH", "/api/v1/users/{user_id}"): {"display_name": "Vi"},
    ("PUT", "/api/v1/projects/{project_id}/members/{user_id}"): {"role": "viewer"},
    ("POST", "/api/v1/tokens"): {"name": "ci", "scopes": ["read"]},
    ("POST", "/webhooks/{forge}"): {},
    ("POST", "/webhooks/{forge}/{project_id}"): {},
}


@dataclass
class World:
    """A deployment with two projects (the callers' and a stranger's), a
    finished run with findings, a delivery, users and their tokens."""

    home: Path
    params: dict[str, str]
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("world")
    repo = Repo(home / "repo")
    repo.commit({"app.py": "import subprocess\n\ndef run(cmd):\n"
                           "    subprocess.call(cmd, shell=True)\n"})  # fmt: skip
    settings = _settings(home)
    migrate.upgrade(settings)
    with TestClient(create_app(settings)) as client:  # no one has an account yet: local
        ours = client.post(
            f"{API}/projects", json={"name": "ours", "repository_url": str(repo.path)}
        ).json()
        theirs = client.post(
            f"{API}/projects", json={"name": "theirs", "repository_url": str(repo.path)}
        ).json()
        run = client.post(f"{API}/projects/{ours['id']}/refresh", json={}).json()
        assert wait_until_done(client, run["id"])["status"] == "completed"
        finding = client.get(f"{API}/runs/{run['id']}/findings").json()["items"][0]
        assert client.get(f"{API}/runs/{run['id']}/reports/json").status_code == 200
    sessions = db.sessions(db.engine(settings))
    with sessions.begin() as session:
        delivery = models.Delivery(forge="github", delivery_id="d-1", event="push",
                                   project_id=ours["id"], status="ignored", payload={})  # fmt: skip
        session.add(delivery)
        people = {
            name: identity.create(session, name, admin=name == "admin")
            for name in ("stranger", "viewer", "maintainer", "project_admin", "admin")
        }
        for name, project, role in (("stranger", theirs, "viewer"), ("viewer", ours, "viewer"),
                                    ("maintainer", ours, "maintainer"),
                                    ("project_admin", ours, "admin")):  # fmt: skip
            identity.add_member(session, people[name].id, project["id"], models.Role(role))
        tokens = {name: identity.issue_token(session, user, "t", list(Scope))[1]
                  for name, user in people.items()}  # fmt: skip
        maintainer = people["maintainer"]
        tokens["read_only"] = identity.issue_token(session, maintainer, "ro", [Scope.READ])[1]
        expired, tokens["expired"] = identity.issue_token(session, maintainer, "old", list(Scope),
                                                          timedelta(days=1))  # fmt: skip
        expired.expires_at = models.now() - timedelta(seconds=1)
        revoked, tokens["revoked"] = identity.issue_token(session, maintainer, "gone", list(Scope))
        identity.revoke_token(session, revoked.id)
        session.flush()
        admins_token = identity.tokens_of(session, people["admin"].id)[0].id
        params = {
            "project_id": str(ours["id"]),
            "run_id": str(run["id"]),
            "finding_id": str(finding["id"]),
            "delivery_id": str(delivery.id),
            "user_id": str(people["viewer"].id),
            "token_id": str(admins_token),
            "forge": "github",
            "format": "json",
            "channel": f"project:{ours['id']}",
            "provider": "oidc",
        }
    return World(home, params, tokens)


def _settings(home: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{home / 'db.sqlite3'}", job_workers=1,
                    cache_dir=home / "cache", data_dir=home / "data")  # fmt: skip


@dataclass(frozen=True)
class Door:
    method: str
    path: str  # as the route table has it, with the router's prefix
    route: APIRoute


def doors() -> list[Door]:
    """Every operation of the application's route table."""
    app = create_app(Settings())
    return [Door(method, str(context.path), context.original_route)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            for method in sorted(context.original_route.methods or ())]  # fmt: skip


def rule_of(door: Door) -> Rule:
    found = [dependency.call for dependency in door.route.dependant.dependencies
             if isinstance(dependency.call, Rule)]  # fmt: skip
    assert len(found) == 1, f"{door.path} must have exactly one access rule, it has {found}"
    return found[0]


# Routes that let anyone signed in through and then check the project of what they
# are asked for themselves: the live channel named (here, the callers' project's).
CHECKED_WITHIN = {"/api/v1/events/{channel}": Rule(Action.READ, "project_id")}


# Public doors whose answer is the route's own, whatever token came with it: a sign-in
# with no password (or no one-time code) is a 401; single sign-on, not configured here, 404.
ANSWERED_BY_THE_ROUTE = {("POST", "/login"): "401", ("POST", "/login/once"): "401",
                         ("GET", "/login/{provider}"): "404",
                         ("GET", "/login/{provider}/callback"): "404"}  # fmt: skip


def expected(rule: Rule, caller: str) -> str:
    """What CALLER is answered by a route with RULE: a status, or `allowed`."""
    if rule.forge:
        return "401"  # a forge proves itself by signature; no token stands in for it
    if rule.public:
        return "allowed"  # the health probe, the sign-in page
    if caller in SIGNED_OUT:
        return "401"
    action = rule.action.value if rule.action else None
    if rule.on is not None and caller not in SEES_THE_PROJECT:
        return "404"
    return "allowed" if caller in MAY[action] else "403"


@pytest.fixture
def deployment(world: World, tmp_path: Path) -> Iterator[TestClient]:
    """A copy of the world for one route: what one caller changes, the next
    does not see."""
    home = tmp_path / "world"
    shutil.copytree(world.home, home, symlinks=True)
    with TestClient(create_app(_settings(home))) as client:
        yield client


@pytest.mark.parametrize("door", doors(), ids=lambda door: f"{door.method} {door.path}")
def test_every_route_answers_each_caller_as_its_access_rule_says(
    door: Door, world: World, deployment: TestClient
) -> None:
    rule, method = CHECKED_WITHIN.get(door.path, rule_of(door)), door.method
    path = door.path.format(**world.params)
    body = BODIES.get((method, door.path))
    # Who is refused goes first, so no change an allowed caller makes hides a refusal.
    order = sorted(CALLERS, key=lambda caller: expected(rule, caller) == "allowed")
    seen = {}
    for caller in order:
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"} \
            if caller in world.tokens else {}  # fmt: skip
        with deployment.stream(method, path, json=body, headers=headers) as answer:
            seen[caller] = answer.status_code
    for caller, status in seen.items():
        wanted = ANSWERED_BY_THE_ROUTE.get((method, door.path)) or expected(rule, caller)
        if wanted == "allowed":
            gone = method == "DELETE"  # an earlier allowed caller may have deleted it
            assert status not in (401, 403) and (gone or status != 404), (caller, status, rule)
            assert status != 422 or (method, door.path) not in BODIES, (caller, status)
        else:
            assert str(status) == wanted, (door.path, caller, status, wanted, rule)


def test_the_matrix_covers_every_operation_of_the_api_document() -> None:
    documented = {
        (method.upper(), path)
        for path, operations in create_app(Settings()).openapi()["paths"].items()
        for method in operations
    }
    assert documented <= {(door.method, door.path) for door in doors()}


def test_a_route_without_a_rule_is_named() -> None:
    bare = APIRoute("/api/v1/unguarded", endpoint=lambda: None, methods=["GET"])
    with pytest.raises(AssertionError, match="/api/v1/unguarded must have exactly one"):
        rule_of(Door("GET", bare.path, bare))


CHANNELS = {"ours": "project:{project_id}", "run": "run:{run_id}", "theirs": "project:{theirs}",
            "own user": "user:{own}", "global": "global"}  # fmt: skip


def heard(caller: str, kind: str) -> str:
    """What CALLER is told on subscribing to a channel of KIND, by hand."""
    if kind in ("ours", "run"):
        return "subscribed" if caller in SEES_THE_PROJECT else "not_found"
    if kind == "theirs":
        return "subscribed" if caller in ("stranger", "admin") else "not_found"
    if kind == "own user":
        return "subscribed"
    return "subscribed"  # global: each hears only its projects' events (test_global_channel)


def test_every_kind_of_live_channel_is_heard_only_by_who_may_see_it(
    world: World, deployment: TestClient
) -> None:
    with deployment as client:
        ids = {caller: client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
               .json()["user_id"] for caller, token in world.tokens.items()
               if caller not in SIGNED_OUT}  # fmt: skip
        theirs = next(p["id"] for p in client.get(
            f"{API}/projects", headers={"Authorization": f"Bearer {world.tokens['admin']}"}
        ).json() if p["name"] == "theirs")  # fmt: skip
        for caller in sorted(set(CALLERS) - SIGNED_OUT):
            with client.websocket_connect("/ws", subprotocols=[
                    "repolens.v1", f"bearer.{world.tokens[caller]}"]) as socket:  # fmt: skip
                socket.receive_json()  # connected
                for index, (kind, template) in enumerate(CHANNELS.items()):
                    channel = template.format(**world.params, theirs=theirs, own=ids[caller])
                    socket.send_json({"type": "subscribe", "channel": channel, "id": index})
                    said = socket.receive_json()
                    while said.get("id") != index:  # a snapshot or an event of an earlier one
                        said = socket.receive_json()
                    told = said["type"] if said["type"] == "subscribed" else said["code"]
                    assert told == heard(caller, kind), (caller, kind, said)
