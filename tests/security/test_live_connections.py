"""Live connections: none held without authenticating, none beyond a client's share."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect


def test_a_socket_that_never_authenticates_is_closed(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(api_token="s3cret", ws_auth_seconds=0.3)
    with client.websocket_connect("/ws") as socket:
        assert socket.receive_json()["type"] == "welcome"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()  # nothing else comes: the close does
    assert closed.value.code == 4401


def test_a_socket_that_authenticates_in_time_stays(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_token="s3cret", ws_auth_seconds=0.3)
    with client.websocket_connect("/ws") as socket:
        socket.receive_json()
        socket.send_json({"type": "auth", "token": "s3cret"})
        assert socket.receive_json()["type"] == "authenticated"
        socket.send_json({"type": "ping", "id": 1})
        assert socket.receive_json() == {"type": "pong", "id": 1}


def test_a_client_address_past_its_cap_is_refused(make_client: Callable[..., TestClient]) -> None:
    client = make_client(ws_connections_per_address=2)
    with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
        one.receive_json(), two.receive_json()
        with client.websocket_connect("/ws") as three, pytest.raises(WebSocketDisconnect) as closed:
            three.receive_json()
        assert closed.value.code == 4429
        streamed = client.get("/api/v1/events/global")
        assert streamed.status_code == 429
    with client.websocket_connect("/ws") as again:  # the two left: room again
        assert again.receive_json()["type"] == "welcome"


def test_a_socket_past_its_message_rate_is_told_and_one_that_goes_on_is_closed(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(rate_limit_socket="3/minute")
    with client.websocket_connect("/ws") as socket, client.websocket_connect("/ws") as other:
        socket.receive_json(), other.receive_json()
        answers = []
        for n in range(4):
            socket.send_json({"type": "ping", "id": n})
            answers.append(socket.receive_json())
        other.send_json({"type": "ping", "id": 9})  # each socket has its own budget
        elsewhere = other.receive_json()
        for n in range(3):  # as many again, after being told
            socket.send_json({"type": "ping", "id": 10 + n})
            if n < 2:
                assert socket.receive_json()["code"] == "rate_limited"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()

    assert answers[:3] == [{"type": "pong", "id": n} for n in range(3)]
    assert answers[3]["type"] == "error" and answers[3]["code"] == "rate_limited"
    assert elsewhere == {"type": "pong", "id": 9}
    assert closed.value.code == 1008
