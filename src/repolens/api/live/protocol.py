"""The WebSocket protocol's messages, typed: what a client may send (one
discriminated union, parsed in one place) and what the server says back.

Events themselves are not here: they go out pre-encoded (`realtime.events`),
one encoding for every subscriber. A message the union does not admit is
answered with one `Error` (`bad_request`), and the connection stays open."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, TypeAdapter, ValidationError

RequestId = int | str | None  # echoed back, so a client can match answers to questions

VERSION = 1


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Auth(_Message):
    type: Literal["auth"]
    token: str | None = None
    id: RequestId = None


class Subscribe(_Message):
    type: Literal["subscribe"]
    channel: str
    last_seq: NonNegativeInt | None = None
    epoch: str | None = None
    id: RequestId = None


class Unsubscribe(_Message):
    type: Literal["unsubscribe"]
    channel: str
    id: RequestId = None


class Ping(_Message):
    type: Literal["ping"]
    id: RequestId = None


ClientMessage = Annotated[Auth | Subscribe | Unsubscribe | Ping, Field(discriminator="type")]
_client = TypeAdapter(ClientMessage)


class Error(_Message):
    """The one way a request is refused: CODE is `bad_request`, `invalid`,
    `forbidden`, `not_found` or `rate_limited` (the message was dropped: the
    socket sent more than REPOLENS_RATE_LIMIT_SOCKET); the connection stays open."""

    type: Literal["error"] = "error"
    id: RequestId = None
    code: str
    message: str


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    v: int = VERSION


class Authenticated(_Message):
    type: Literal["authenticated"] = "authenticated"


class Pong(_Message):
    type: Literal["pong"] = "pong"
    id: RequestId = None


class Subscribed(_Message):
    type: Literal["subscribed"] = "subscribed"
    id: RequestId = None
    channel: str
    epoch: str
    seq: int
    recovered: bool


class Unsubscribed(_Message):
    type: Literal["unsubscribed"] = "unsubscribed"
    id: RequestId = None
    channel: str


class Snapshot(_Message):
    """The state behind a channel now, sent on joining it unless the client
    resumed without a gap; `seq` is the last event the state includes."""

    type: Literal["snapshot"] = "snapshot"
    channel: str
    epoch: str
    seq: int
    data: dict[str, Any]


ServerMessage = Error | Welcome | Authenticated | Pong | Subscribed | Unsubscribed | Snapshot


def parse(text: str) -> ClientMessage | Error:
    """TEXT as a client message, or the Error that refuses it. A bare `ping`
    (as some keep-alive libraries send) is a Ping."""
    if text.strip() == "ping":
        return Ping(type="ping")
    try:
        return _client.validate_json(text)
    except ValidationError as exc:
        return Error(id=_request_id(text), code="bad_request", message=_explain(exc))


def said(message: ServerMessage) -> dict[str, Any]:
    """MESSAGE as the JSON object it goes out as."""
    return message.model_dump(mode="json")


def _explain(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    if first["type"] in ("json_invalid", "model_attributes_type", "model_type", "dict_type"):
        return "messages are JSON objects with a type"
    if first["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return "unknown message type: expected auth, subscribe, unsubscribe or ping"
    where = ".".join(str(part) for part in first["loc"][1:]) or "message"
    return f"{where}: {first['msg']}"


def _request_id(text: str) -> RequestId:
    """The id of a refused message, when it had a usable one."""
    try:
        found = TypeAdapter(dict[str, Any]).validate_json(text).get("id")
    except ValidationError:
        return None
    return found if isinstance(found, int | str) and not isinstance(found, bool) else None
