"""A project's fields as any door (the API, the CLI, next forge webhooks) hands
them in, passed through the guard for each kind before they are stored: the
repository URL through the repository policy (its credentials sealed apart,
its identity kept for forge deliveries), a webhook secret sealed by the vault,
the notify URL through the outbound guard, the schedule through `cron`, and
analyzer options through their own types."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from repolens import cron
from repolens.analyzers.base import options_of
from repolens.analyzers.registry import Registry
from repolens.errors import InputError, Refused
from repolens.git import identity
from repolens.security import repositories
from repolens.security.outbound import OutboundPolicy
from repolens.security.vault import Vault
from repolens.settings import Settings


def checked(fields: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """FIELDS ready to store; Refused (with the field it is about) if one may not be."""
    fields = dict(fields)
    if fields.get("repository_url") is not None:
        admitted = repositories.RepositoryPolicy.of(settings).admit(fields["repository_url"])
        fields.update(repositories.columns(admitted, Vault.of(settings)))
        fields["repository_key"] = identity.key(admitted.url)
    if fields.get("webhook_secret") is not None:
        secret = fields["webhook_secret"]
        plain = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
        fields["webhook_secret"] = Vault.of(settings).encrypt(plain)
    if fields.get("notify_url") is not None:
        OutboundPolicy.of(settings).check_url(fields["notify_url"], "notify_url")
    if fields.get("analyzer_options"):
        _check_options(fields["analyzer_options"])
    if fields.get("schedule") is not None:
        cron.check(fields["schedule"], settings.schedule_min_interval_seconds)
    return fields


def _check_options(given: dict[str, dict[str, Any]]) -> None:
    """Each analyzer's options typed as that analyzer declares them, so a bad
    value is refused now rather than failing every run later."""
    registry = Registry.discover()
    for name, values in given.items():
        try:
            (analyzer,) = registry.select([name])
            options_of(analyzer, values)
        except InputError as exc:
            raise Refused(str(exc), field="analyzer_options") from None
