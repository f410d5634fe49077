from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repolens.app import create_app
from repolens.settings import Settings
from repolens.storage import migrate
from tests.integration.conftest import repolens  # noqa: F401 - the command-line fixture, shared


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """The embedded service on SQLite, with the defaults a fresh install has
    (no local roots, no allowed private networks) unless a test says otherwise."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        given: dict[str, Any] = {"data_dir": tmp_path / "data", "cache_dir": tmp_path / "cache",
                                 "job_workers": 1, "local_repository_roots": [],
                                 "outbound_allowed_networks": [], **overrides}  # fmt: skip
        settings = Settings(**given)
        migrate.upgrade(settings)
        client = TestClient(create_app(settings))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


API = "/api/v1"
