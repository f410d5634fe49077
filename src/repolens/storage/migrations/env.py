"""Alembic's entry point: migrate the database the Config (or Settings) names."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from repolens.settings import Settings
from repolens.storage import db
from repolens.storage.models import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    settings = Settings(database_url=url) if url else Settings()
    with db.engine(settings).connect() as connection:
        _migrate(connection)


run()
