"""Settings are declared by concern and read from REPOLENS_* variables; a
secret (a token, a key, a URL that may carry a password) never shows in a
repr, a log line or a validation error."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr, ValidationError

from repolens.settings import CONCERNS, Settings

SECRETS = {
    "api_token": "tok-3f9a",
    "notify_secret": "whsec_c2VjcmV0",
    "secret_keys": "fernet-key-1",
    "database_url": "postgresql://repolens:db-pass-77@db.internal/repolens",
    "broker_url": "redis://:broker-pass-55@queue.internal:6379/0",
    "events_url": "redis://:events-pass-33@events.internal:6379/1",
}


def test_every_setting_belongs_to_exactly_one_concern() -> None:
    owners: dict[str, list[str]] = {}
    for concern in CONCERNS:
        for name in concern.model_fields:
            owners.setdefault(name, []).append(concern.__name__)

    assert set(owners) == set(Settings.model_fields)
    assert all(len(found) == 1 for found in owners.values())


def test_secrets_are_read_from_the_environment_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"REPOLENS_{name.upper()}", value)
    settings = Settings()
    logging.getLogger("repolens.test").warning("starting with %s / %r", settings, settings)

    shown = f"{settings!r} {settings} {settings.model_dump()} {caplog.text}"
    assert not [value for value in SECRETS.values() if value in shown]
    assert all(isinstance(getattr(settings, name), SecretStr) for name in SECRETS)
    assert settings.database == SECRETS["database_url"]
    assert (settings.broker, settings.events) == (SECRETS["broker_url"], SECRETS["events_url"])


def test_a_settings_error_does_not_repeat_a_secret_it_was_given() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(broker_url=SECRETS["broker_url"], job_soft_time_limit_seconds=90,
                 job_time_limit_seconds=60)  # fmt: skip

    assert "must be below" in str(refused.value)
    assert SECRETS["broker_url"] not in str(refused.value)


def test_live_events_follow_a_redis_broker_unless_told_otherwise() -> None:
    assert Settings(broker_url="redis://queue:6379/0").events == "redis://queue:6379/0"
    assert Settings(broker_url="amqp://guest:guest@mq:5672//").events is None
    assert Settings().events is None
