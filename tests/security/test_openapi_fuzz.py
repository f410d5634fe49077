"""The API fuzzed from its own OpenAPI document, against a real server: no
request gets a 5xx, and no answer breaks the document (status codes, media
types, schemas). Bounded to fit the test run: a few examples per operation
(REPOLENS_TEST_FUZZ_EXAMPLES for a longer hunt)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

TOKEN = "fuzzing-instance-token"  # the server's REPOLENS_API_TOKEN: every door is tried open
EXAMPLES = int(os.environ.get("REPOLENS_TEST_FUZZ_EXAMPLES", "40"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzzed")
    port = _free_port()
    env = {**os.environ, "REPOLENS_DATA_DIR": str(data), "REPOLENS_CACHE_DIR": str(data / "c"),
           "REPOLENS_LOCAL_REPOSITORY_ROOTS": str(data), "REPOLENS_JOB_WORKERS": "1",
           "REPOLENS_API_TOKEN": TOKEN, "REPOLENS_CLI_CONFIG": str(data / "cli.toml")}  # fmt: skip
    log = (data / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "repolens", "serve", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, (
                "the server did not start"
            )
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


def test_no_request_gets_a_server_error_or_an_answer_outside_the_document(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    failures = []
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: schemathesis.Case) -> None:
            # Input the document allows may still be refused by a guard that
            # depends on settings (URLs, schedules): that is a 422, not a fault.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                excluded_checks=[checks.positive_data_acceptance],
            )

        try:
            call()
        except Exception as exc:  # every operation is tried; all failures are shown
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
