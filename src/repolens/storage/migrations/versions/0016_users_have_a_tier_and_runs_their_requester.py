"""users have a tier, and runs the user who asked for them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=32), nullable=False,
                                      server_default="free"))  # fmt: skip
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_requested_by"), ["requested_by"])
        batch_op.create_foreign_key(batch_op.f("fk_runs_requested_by_users"), "users",
                                    ["requested_by"], ["id"], ondelete="SET NULL")  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_runs_requested_by_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_runs_requested_by"))
        batch_op.drop_column("requested_by")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("tier")
