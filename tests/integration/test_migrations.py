"""The schema: migrations match the models and go down and up again, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from repolens.settings import Settings
from repolens.storage import migrate
from repolens.storage.models import Base
from tests.integration.conftest import Result
from tests.integration.databases import database_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_creates_every_table_and_the_models_need_no_new_migration(
    backend: str, tmp_path: Path
) -> None:
    with database_url(backend, tmp_path) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings)

        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
        assert set(Base.metadata.tables) <= tables
        migrate.check(settings)  # raises when models and migrations disagree


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_one_step_then_upgrade_again_works(backend: str, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings)
        migrate.downgrade(settings, "-1")
        migrate.upgrade(settings)
        migrate.check(settings)


def test_db_upgrade_on_the_command_line_creates_the_default_sqlite_file(
    repolens: Callable[..., Result], tmp_path: Path
) -> None:
    result = repolens("db", "upgrade", REPOLENS_DATA_DIR=str(tmp_path / "data"))
    assert result.code == 0, result.stderr
    assert (tmp_path / "data" / "repolens.db").exists()
