"""How each forge delivers: the headers that name the event and the delivery,
how its proof is checked, how its body is read, and which setting holds the
deployment's secret for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from repolens.forges import gitea, github, gitlab, signatures
from repolens.forges.events import Event, Forge

Verify = Callable[[Sequence[str], bytes, Mapping[str, str]], bool]


@dataclass(frozen=True)
class Hook:
    forge: Forge
    event_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...]
    verify: Verify
    read: Callable[[str, dict[str, Any]], Event]
    secret_setting: str  # the Settings field with the deployment's secret
    proof: str  # the header that carries the proof, for messages

    # HEADERS are looked up as HTTP does, whatever their case (Starlette's Headers).
    def event(self, headers: Mapping[str, str]) -> str | None:
        return _first(headers, self.event_headers)

    def delivery(self, headers: Mapping[str, str]) -> str | None:
        found = _first(headers, self.delivery_headers)
        return found[:100] if found else None


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value.strip()
    return None


def _github(secrets: Sequence[str], body: bytes, headers: Mapping[str, str]) -> bool:
    return signatures.github(secrets, body, headers.get("x-hub-signature-256"))


def _gitlab(secrets: Sequence[str], body: bytes, headers: Mapping[str, str]) -> bool:
    return signatures.gitlab(secrets, headers.get("x-gitlab-token"))


def _gitea(secrets: Sequence[str], body: bytes, headers: Mapping[str, str]) -> bool:
    given = headers.get("x-gitea-signature") or headers.get("x-forgejo-signature")
    return signatures.gitea(secrets, body, given)


HOOKS = {
    Forge.GITHUB: Hook(Forge.GITHUB, ("X-GitHub-Event",), ("X-GitHub-Delivery",), _github,
                       github.read, "github_webhook_secret", "X-Hub-Signature-256"),
    Forge.GITLAB: Hook(Forge.GITLAB, ("X-Gitlab-Event",), ("X-Gitlab-Event-UUID",), _gitlab,
                       gitlab.read, "gitlab_webhook_token", "X-Gitlab-Token"),
    Forge.GITEA: Hook(Forge.GITEA, ("X-Gitea-Event", "X-Forgejo-Event"),
                      ("X-Gitea-Delivery", "X-Forgejo-Delivery"), _gitea, gitea.read,
                      "gitea_webhook_secret", "X-Gitea-Signature"),
}  # fmt: skip
