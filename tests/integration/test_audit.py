"""The audit log: who did what, when and from where, for instance admins; and a
project's activity for its members."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.security import identity
from repolens.security.policy import Scope
from repolens.settings import Settings
from repolens.storage import db, migrate, models

API = "/api/v1"


def test_changes_are_told_with_who_made_them_and_from_where_and_refusals_leave_nothing(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", job_workers=1,
                        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")  # fmt: skip
    migrate.upgrade(settings)
    with db.sessions(db.engine(settings)).begin() as session:
        tokens = {name: identity.issue_token(session, identity.create(session, name,
                                                                      admin=name == "root"),
                                             "t", list(Scope))[1]
                  for name in ("root", "ann", "vic")}  # fmt: skip

    def as_(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    with TestClient(create_app(settings)) as client:
        shop = {"name": "shop", "repository_url": "https://example.com/o/shop"}
        project = client.post(f"{API}/projects", headers=as_("ann"), json=shop).json()["id"]
        vic = client.get(f"{API}/me", headers=as_("vic")).json()["user_id"]
        client.put(f"{API}/projects/{project}/members/{vic}", json={"role": "viewer"},
                   headers=as_("ann"))  # fmt: skip
        client.patch(f"{API}/projects/{project}", json={"schedule": "0 3 * * *"},
                     headers=as_("ann"))  # fmt: skip
        refused = client.patch(f"{API}/projects/{project}", json={"plan_path": "x.md"},
                               headers=as_("vic"))  # fmt: skip
        client.post(f"{API}/tokens", json={"name": "ci", "scopes": ["read"]}, headers=as_("ann"))
        log = client.get(f"{API}/audit", headers=as_("root")).json()
        activity = client.get(f"{API}/projects/{project}/activity", headers=as_("vic")).json()
        not_for_members = client.get(f"{API}/audit", headers=as_("ann"))

    assert refused.status_code == 403
    assert [(e["actor"], e["action"], e["target"]) for e in log] == [
        ("ann", "token.create", "token 4"), ("ann", "project.update", "shop"),
        ("ann", "member.add", "vic"), ("ann", "project.create", "shop")]  # fmt: skip
    assert all(e["address"] == "testclient" and e["token_id"] for e in log)
    assert log[1]["details"] == {"fields": ["schedule"]}
    assert [e["action"] for e in activity] == ["project.update", "member.add", "project.create"]
    assert not_for_members.status_code == 403
    with db.sessions(db.engine(settings))() as session:
        assert session.query(models.AuditEntry).count() == 4
