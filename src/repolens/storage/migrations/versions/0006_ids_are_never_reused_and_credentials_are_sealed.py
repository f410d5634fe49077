"""ids are never reused, and a project's repository credentials are sealed apart

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:00:00

On SQLite every table is rebuilt with AUTOINCREMENT (elsewhere ids come from
sequences, which never go back). The rebuild keeps rows, keys and indexes;
env.py turns foreign keys off while migrating SQLite, so dropping the old
table cascades nowhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Parents before children, so each rebuilt child refers to a rebuilt parent.
TABLES = ("projects", "runs", "steps", "findings", "plan_tasks", "plan_snapshots", "skills",
          "reports", "refresh_history", "outbox")  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repository_secret", sa.Text(), nullable=True))
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("repository_secret")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        kwargs = {"sqlite_autoincrement": autoincrement}
        with op.batch_alter_table(table, recreate="always", table_kwargs=kwargs):
            pass
