"""a project's branch may be left to the repository's HEAD

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# SQLite rebuilds the table to change a column: it must keep AUTOINCREMENT (0006).
KEEP = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.alter_column("default_branch", existing_type=sa.String(length=255),
                              nullable=True)  # fmt: skip


def downgrade() -> None:
    op.execute("UPDATE projects SET default_branch = 'main' WHERE default_branch IS NULL")
    with op.batch_alter_table("projects", schema=None, table_kwargs=KEEP) as batch_op:
        batch_op.alter_column("default_branch", existing_type=sa.String(length=255),
                              nullable=False)  # fmt: skip
