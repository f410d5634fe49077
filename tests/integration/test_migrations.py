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


def test_rebuilding_sqlite_tables_for_autoincrement_keeps_rows_and_their_cascades(
    tmp_path: Path,
) -> None:
    with database_url("sqlite", tmp_path) as url:
        settings = Settings(database_url=url)
        migrate.upgrade(settings, "0005")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO projects (id, name, repository_url, default_branch, "
                "analyzer_options, created_at, updated_at) VALUES "
                "(1, 'p', '/r', 'main', '{}', '2026-01-01', '2026-01-01')"
            )
            connection.exec_driver_sql(
                'INSERT INTO runs (id, project_id, "trigger", priority, status, progress, '
                "attempts, cancel_requested, queued_at, summary) VALUES "
                "(7, 1, 'manual', 'high', 'completed', 100, 1, 0, '2026-01-01', '{}')"
            )
        migrate.upgrade(settings)
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            assert connection.exec_driver_sql("SELECT id FROM runs").scalars().all() == [7]
            connection.exec_driver_sql("DELETE FROM projects WHERE id = 1")
            assert connection.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0
            connection.exec_driver_sql(
                "INSERT INTO projects (name, repository_url, default_branch, analyzer_options, "
                "created_at, updated_at) VALUES ('q', '/r', 'main', '{}', '2026-01-01', "
                "'2026-01-01')"
            )
            assert connection.exec_driver_sql("SELECT id FROM projects").scalar() == 2
        engine.dispose()
