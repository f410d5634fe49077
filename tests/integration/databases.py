"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database per test,
and a Redis database of its own."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'repolens.db'}"
        return
    name = f"repolens_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_url() -> Iterator[str]:
    """An empty Redis database nobody else is connected to, emptied again after:
    a worker left behind by an interrupted run would otherwise take this test's
    messages."""
    admin = redis.Redis(host="127.0.0.1", port=6379)
    busy = {int(client["db"]) for client in admin.client_list()}
    free = [index for index in range(1, 16) if index not in busy]
    assert free, "every Redis database from 1 to 15 has a client connected"
    url = f"redis://127.0.0.1:6379/{random.choice(free)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
