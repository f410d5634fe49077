"""The per-file result cache: findings keyed by (analyzer, analyzer version,
options hash, file content hash), so an unchanged file is never analysed twice.

Two implementations of one small seam: SQLite on disk, and a dict in memory."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple, Protocol

from pydantic import BaseModel

from repolens.analyzers.base import Finding


class Key(NamedTuple):
    analyzer: str
    version: str
    options: str
    content: str


def options_hash(options: BaseModel) -> str:
    canonical = json.dumps(options.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ResultCache(Protocol):
    def get_many(self, keys: list[Key]) -> dict[Key, list[Finding]]: ...

    def put_many(self, entries: dict[Key, list[Finding]]) -> None: ...


def _encode(findings: list[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings])


def _decode(blob: str) -> list[Finding]:
    return [Finding.from_dict(item) for item in json.loads(blob)]


class MemoryResultCache:
    def __init__(self) -> None:
        self._entries: dict[Key, str] = {}

    def get_many(self, keys: list[Key]) -> dict[Key, list[Finding]]:
        return {key: _decode(self._entries[key]) for key in keys if key in self._entries}

    def put_many(self, entries: dict[Key, list[Finding]]) -> None:
        self._entries.update({key: _encode(findings) for key, findings in entries.items()})


class NullResultCache:
    """Caches nothing: every file is analysed every time."""

    def get_many(self, keys: list[Key]) -> dict[Key, list[Finding]]:
        return {}

    def put_many(self, entries: dict[Key, list[Finding]]) -> None:
        return None


class SqliteResultCache:
    """The on-disk cache, safe to share between threads and processes."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS results (
            analyzer TEXT, version TEXT, options TEXT, content TEXT, findings TEXT,
            PRIMARY KEY (analyzer, version, options, content)
        ) WITHOUT ROWID
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(self._SCHEMA)

    def get_many(self, keys: list[Key]) -> dict[Key, list[Finding]]:
        found: dict[Key, list[Finding]] = {}
        groups: dict[tuple[str, str, str], list[Key]] = {}
        for key in keys:
            groups.setdefault(key[:3], []).append(key)
        with self._lock:
            for (analyzer, version, options), members in groups.items():
                for start in range(0, len(members), 500):
                    chunk = members[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        "SELECT content, findings FROM results WHERE analyzer=? AND version=? "
                        f"AND options=? AND content IN ({marks})",
                        (analyzer, version, options, *(key.content for key in chunk)),
                    ).fetchall()
                    found.update(
                        (Key(analyzer, version, options, content), _decode(blob))
                        for content, blob in rows
                    )
        return found

    def put_many(self, entries: dict[Key, list[Finding]]) -> None:
        rows = [(*key, _encode(findings)) for key, findings in entries.items()]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
