"""forges deliver pushes and pull requests

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repository_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("webhook_secret", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_projects_repository_key"), ["repository_key"])
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_request", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("base_commit", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("origin", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forge", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=True),
        sa.Column("hook", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("repository", sa.String(length=300), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("replay_of", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_deliveries_project_id_projects"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_deliveries_run_id_runs"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["replay_of"], ["deliveries.id"],
                                name=op.f("fk_deliveries_replay_of_deliveries"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("forge", "delivery_id", "hook", name=op.f("uq_deliveries_forge")),
        sqlite_autoincrement=True,
    )  # fmt: skip
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_received_at", ["received_at"])
        batch_op.create_index(batch_op.f("ix_deliveries_project_id"), ["project_id"])
    _key_existing_projects()


_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>[^/\s].*)$")
_PATH = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+$")


def _key(url: str | None) -> str | None:
    """host/owner/name of URL as this revision defined it (a copy: a migration
    must not change when the application's code does)."""
    if not url or len(url) > 2000:
        return None
    host: str | None
    path: str | None
    if "://" in url:
        try:
            parts = urlsplit(url.strip())
            host, path = parts.hostname, parts.path
        except ValueError:
            return None
        if parts.scheme.lower() not in ("http", "https", "ssh", "git"):
            return None
    else:
        scp = _SCP.match(url.strip())
        host, path = (scp["host"], scp["path"]) if scp else (None, None)
    if not host or not path:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    if not _PATH.fullmatch(path) or any(part in (".", "..") for part in path.split("/")):
        return None
    found = f"{host.lower()}/{path.lower()}"
    return found if len(found) <= 300 else None


def _key_existing_projects() -> None:
    projects = sa.table("projects", sa.column("id", sa.Integer),
                        sa.column("repository_url", sa.String),
                        sa.column("repository_key", sa.String))  # fmt: skip
    connection = op.get_bind()
    for project_id, url in connection.execute(sa.select(projects.c.id, projects.c.repository_url)):
        found = _key(url)
        if found:
            connection.execute(
                projects.update().where(projects.c.id == project_id).values(repository_key=found)
            )


def downgrade() -> None:
    op.drop_table("deliveries")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("origin")
        batch_op.drop_column("base_commit")
        batch_op.drop_column("pull_request")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_repository_key"))
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("repository_key")
