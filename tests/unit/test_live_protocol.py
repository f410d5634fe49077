"""The WebSocket protocol's client messages are parsed in one place, and
whatever it does not admit is refused with one kind of error."""

from __future__ import annotations

import pytest

from repolens.api.live import protocol


def test_each_kind_of_client_message_is_read_as_its_type() -> None:
    subscribe = protocol.parse('{"type":"subscribe","channel":"run:1","last_seq":4,"epoch":"e"}')
    auth = protocol.parse('{"type":"auth","token":"t","id":"a"}')

    assert subscribe == protocol.Subscribe(type="subscribe", channel="run:1", last_seq=4,
                                           epoch="e")  # fmt: skip
    assert auth == protocol.Auth(type="auth", token="t", id="a")
    assert isinstance(protocol.parse('{"type":"unsubscribe","channel":"global"}'),
                      protocol.Unsubscribe)  # fmt: skip
    assert isinstance(protocol.parse("ping"), protocol.Ping)


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ("{not json", "JSON objects with a type"),
        ("[1, 2]", "JSON objects with a type"),
        ('{"channel":"run:1"}', "unknown message type"),
        ('{"type":"shutdown"}', "unknown message type"),
        ('{"type":"subscribe"}', "channel"),
        ('{"type":"subscribe","channel":"run:1","last_seq":-1}', "last_seq"),
        ('{"type":"subscribe","channel":"run:1","last_seq":"7"}', "last_seq"),
        ('{"type":"subscribe","channel":"run:1","last_seq":true}', "last_seq"),
        ('{"type":"subscribe","channel":["run:1"]}', "channel"),
    ],
)
def test_a_message_outside_the_protocol_is_refused_as_a_bad_request(
    text: str, explained: str
) -> None:
    refused = protocol.parse(text)

    assert isinstance(refused, protocol.Error)
    assert refused.code == "bad_request"
    assert explained in refused.message


def test_a_refusal_carries_the_id_the_client_gave_when_it_was_usable() -> None:
    kept = protocol.parse('{"type":"subscribe","id":7}')
    dropped = protocol.parse('{"type":"subscribe","id":{"nested":1}}')

    assert isinstance(kept, protocol.Error) and kept.id == 7
    assert isinstance(dropped, protocol.Error) and dropped.id is None


def test_server_messages_go_out_as_the_json_objects_clients_read() -> None:
    said = protocol.said(protocol.Subscribed(id=1, channel="run:2", epoch="e", seq=3,
                                             recovered=True))  # fmt: skip

    assert said == {"type": "subscribed", "id": 1, "channel": "run:2", "epoch": "e", "seq": 3,
                    "recovered": True}  # fmt: skip
