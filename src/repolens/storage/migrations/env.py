"""Alembic's entry point: migrate the database the Config (or Settings) names."""

from __future__ import annotations

from alembic import context
from pydantic import SecretStr
from sqlalchemy import Connection

from repolens.settings import Settings
from repolens.storage import db
from repolens.storage.models import Base


def _migrate(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Rebuilding a table drops the old one, which with foreign keys on would
        # first delete every row that refers to it. Outside a transaction, or
        # SQLite ignores it.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    settings = Settings(database_url=SecretStr(url)) if url else Settings()
    with db.engine(settings).connect() as connection:
        _migrate(connection)


run()
