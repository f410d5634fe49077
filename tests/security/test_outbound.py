"""Outgoing requests go only where they may: no server-side request forgery."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repolens import scan
from repolens.errors import Refused
from repolens.security.outbound import OutboundPolicy
from repolens.settings import Settings
from tests.recorder import Recorder
from tests.security.conftest import API

PRIVATE = ["http://127.0.0.1/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/",
           "http://127.1/", "http://0/", "http://0.0.0.0:8000/", "http://[::1]/", "http://[::]/",
           "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[64:ff9b::7f00:1]/",
           "http://[2002:7f00:1::]/", "http://169.254.169.254/latest/meta-data/",
           "http://[fd00:ec2::254]/", "http://10.0.0.1/", "http://172.16.5.4/",
           "http://192.168.1.1/", "http://100.100.100.200/", "http://[fe80::1%25eth0]/",
           "http://224.0.0.1/", "http://255.255.255.255/", "http://localhost:8000/",
           "http://LOCALHOST./", "http://api.localhost/", "https://169.254.169.254/"]  # fmt: skip


@pytest.mark.parametrize("url", PRIVATE)
def test_a_notify_url_at_a_private_address_in_any_spelling_is_refused(
    make_client: Callable[..., TestClient], tmp_path: Path, url: str
) -> None:
    client = make_client(local_repository_roots=[tmp_path])
    body = {"name": "p", "repository_url": str(tmp_path), "notify_url": url}
    refused = client.post(f"{API}/projects", json=body)
    assert refused.status_code == 422, url
    assert refused.json()["errors"][0]["field"] == "body.notify_url"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "file:///etc/passwd",
        "gopher://host/",
        "http://user:pw@example.com/",
        "http:///x",
        "not a url",
    ],
)
def test_only_plain_http_urls_with_a_host_may_be_targets(url: str) -> None:
    with pytest.raises(Refused):
        OutboundPolicy().check_url(url)


def test_allowed_networks_open_exactly_what_they_list() -> None:
    import ipaddress

    policy = OutboundPolicy([ipaddress.ip_network("10.1.0.0/16")])
    policy.check_url("http://10.1.2.3/hook")
    with pytest.raises(Refused):
        policy.check_url("http://10.2.0.1/hook")


@pytest.fixture
def receiver() -> Iterator[Recorder]:
    server = Recorder([302], {"Location": "http://169.254.169.254/latest/meta-data/"})
    yield server
    server.shutdown()


def resolver(*answers: str) -> Callable[..., list[Any]]:
    """A name server for names (addresses resolve as they always do) that gives
    each answer in turn, the last one from then on. Only loopback answers are
    ever connectable: nothing here may send to another address."""
    given = list(answers)
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if all(part.isdigit() for part in host.split(".")):
            return real(host, port, *args, **kwargs)
        address = given.pop(0) if len(given) > 1 else given[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo


def test_a_name_that_resolves_to_a_private_address_at_send_time_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolver("169.254.169.254"))
    policy = OutboundPolicy()
    policy.check_url("http://hooks.example.com/x")  # a name: checked when sending
    with pytest.raises(Refused):
        policy.post("http://hooks.example.com/x", content=b"{}", headers={}, timeout=2)


def test_the_request_goes_to_the_address_that_was_checked_not_to_a_second_lookup(
    monkeypatch: pytest.MonkeyPatch, receiver: Recorder
) -> None:
    import ipaddress

    # Rebinding: the first answer is the one checked; a second lookup would get
    # an address outside the allowed network, where nothing listens.
    monkeypatch.setattr(socket, "getaddrinfo", resolver("127.0.0.1", "127.0.0.2"))
    policy = OutboundPolicy([ipaddress.ip_network("127.0.0.1/32")])
    port = receiver.server_address[1]
    answer = policy.post(f"http://hooks.example.com:{port}/x", content=b"{}", headers={},
                         timeout=5)  # fmt: skip
    assert answer.status_code == 302  # and not followed to the metadata address
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["Host"] == f"hooks.example.com:{port}"


def allowing(tmp_path: Path, *networks: str) -> Settings:
    """Settings whose outbound guard allows NETWORKS only (the tests' default allows loopback)."""
    data = {"cache_dir": tmp_path, "data_dir": tmp_path, "outbound_allowed_networks": networks}
    return Settings.model_validate(data)


def test_an_analyzers_http_is_refused_a_loopback_address_unless_it_is_allowed(
    receiver: Recorder, tmp_path: Path
) -> None:
    http = scan.analyzer_services(allowing(tmp_path)).http
    with pytest.raises(Refused):
        http.post(f"{receiver.url}/review", json={"a": 1}, headers={}, timeout=5)
    assert receiver.received == []


def test_an_analyzers_http_posts_json_through_the_guard(receiver: Recorder, tmp_path: Path) -> None:
    http = scan.analyzer_services(allowing(tmp_path, "127.0.0.1/32")).http
    answer = http.post(f"{receiver.url}/review", json={"a": 1}, headers={"X-A": "b"}, timeout=5)

    assert answer.status_code == 302  # not followed
    (request,) = receiver.received
    assert (request.method, request.path, request.body) == ("POST", "/review", b'{"a": 1}')
    assert (request.headers["Content-Type"], request.headers["X-A"]) == ("application/json", "b")
