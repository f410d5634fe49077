"""outbox messages name the task they send

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The topics of messages written before the task registry, and the task each sends.
RENAMED = {"run.queued": "repolens.scan", "run.report": "repolens.report",
           "run.notify": "repolens.notify"}  # fmt: skip


def _rename(pairs: dict[str, str]) -> None:
    outbox = sa.table("outbox", sa.column("topic", sa.String))
    for old, new in pairs.items():
        op.execute(outbox.update().where(outbox.c.topic == old).values(topic=new))


def upgrade() -> None:
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
