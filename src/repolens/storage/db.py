"""The database engine and sessions, built from Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from repolens.settings import Settings


def engine(settings: Settings) -> Engine:
    url = make_url(settings.database)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        created = create_engine(url, connect_args={"timeout": 30})
        event.listen(created, "connect", _sqlite_pragmas)
        return created
    return create_engine(url, pool_pre_ping=True)


def sessions(bound: Engine) -> sessionmaker[Session]:
    return sessionmaker(bound, expire_on_commit=False)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
