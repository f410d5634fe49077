"""Running Alembic from code: `repolens db upgrade` and the tests use this."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from repolens.settings import Settings

SCRIPTS = "repolens.storage:migrations"


def config(settings: Settings) -> Config:
    alembic = Config()
    alembic.set_main_option("script_location", SCRIPTS)
    alembic.set_main_option("sqlalchemy.url", settings.database.replace("%", "%%"))
    return alembic


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(config(settings), revision)


def check(settings: Settings) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(config(settings))
