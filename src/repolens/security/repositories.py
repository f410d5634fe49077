"""Which repositories the service may fetch: one policy for every door (the API,
the CLI's service commands and, next, forge webhooks), applied again when a
run fetches.

Allowed: `https://`, `http://`, `ssh://` and `user@host:path`. A local path or a
`file://` URL only inside a directory of `REPOLENS_LOCAL_REPOSITORY_ROOTS` (none
by default); with `REPOLENS_REPOSITORY_HOSTS`, only those hosts. A refusal says
what is allowed and nothing about the server's files. Credentials in a URL are
taken out: the stored URL never holds them, the vault does."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from repolens.errors import DeliveryFailed, Refused
from repolens.git import arguments
from repolens.git.credentials import Credentials
from repolens.security.outbound import OutboundPolicy
from repolens.security.vault import Vault
from repolens.settings import Settings

FORMS = "https://host/path, http://host/path, ssh://[user@]host/path or user@host:path"
_SCP_LIKE = re.compile(r"^(?P<user>[\w.+-]+)@(?P<host>[\w.-]+):(?P<path>[^/].*|/.+)$")
_HOST = re.compile(r"^(?!-)[\w.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")


@dataclass(frozen=True)
class Admitted:
    """A repository location the policy allows, without its credentials."""

    url: str
    credentials: Credentials | None = field(default=None, repr=False)


class RepositoryPolicy:
    def __init__(self, local_roots: Sequence[Path] = (), hosts: Sequence[str] = ()) -> None:
        self.local_roots = [os.path.realpath(root) for root in local_roots]
        self.hosts = [host.lower() for host in hosts]

    @classmethod
    def of(cls, settings: Settings) -> RepositoryPolicy:
        return cls(settings.local_repository_roots, settings.repository_hosts)

    def admit(self, location: str) -> Admitted:
        """LOCATION as it may be stored and fetched; Refused if it may not."""
        arguments.remote(location)
        if "://" in location:
            return self._url(location)
        scp = _SCP_LIKE.match(location)
        if scp:
            self._host(scp["host"])
            return Admitted(location)
        if location.startswith("/"):
            return Admitted(self._local(location))
        raise self._refusal()

    def _url(self, location: str) -> Admitted:
        try:
            parts = urlsplit(location)
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError:
            raise self._refusal() from None
        scheme = parts.scheme.lower()
        if scheme == "file":
            if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
                raise self._refusal()
            return Admitted("file://" + self._local(unquote(parts.path)))
        if scheme not in ("https", "http", "ssh") or not parts.hostname or not parts.path:
            raise self._refusal()
        self._host(parts.hostname)
        credentials = None
        if scheme == "ssh":
            if parts.password is not None:
                raise Refused("ssh URLs take keys, not passwords: remove the password",
                              field="repository_url")  # fmt: skip
            user = f"{parts.username}@" if parts.username else ""
        else:
            user = ""
            if parts.username or parts.password:
                credentials = Credentials(unquote(parts.username or ""),
                                          unquote(parts.password or ""))  # fmt: skip
        netloc = user + parts.netloc.rpartition("@")[2]  # host[:port], as written
        rest = parts.path + (f"?{parts.query}" if parts.query else "")
        return Admitted(f"{scheme}://{netloc}{rest}", credentials)

    def _host(self, host: str) -> None:
        if not _HOST.match(host) and not _HOST.match(f"[{host}]"):
            raise self._refusal()
        if self.hosts and not any(_matches(host.lower(), allowed) for allowed in self.hosts):
            raise Refused(f"repositories on {host} are not allowed here "
                          f"(REPOLENS_REPOSITORY_HOSTS)", field="repository_url")  # fmt: skip

    def _local(self, path: str) -> str:
        if not path.startswith("/"):
            raise self._refusal()
        real = os.path.realpath(path)
        if not any(os.path.commonpath([real, root]) == root for root in self.local_roots):
            raise self._refusal()
        return real

    def _refusal(self) -> Refused:
        local = (
            "local paths only inside a directory of REPOLENS_LOCAL_REPOSITORY_ROOTS"
            if self.local_roots
            else "local paths and file:// are not allowed on this server"
        )
        return Refused(f"a repository URL must be {FORMS}; {local}", field="repository_url")


def _matches(host: str, allowed: str) -> bool:
    if allowed.startswith("*."):
        return host.endswith(allowed[1:])
    return host == allowed


def columns(admitted: Admitted, vault: Vault) -> dict[str, str | None]:
    """A project's repository columns for ADMITTED: its URL and sealed credentials."""
    secret = vault.encrypt(admitted.credentials.joined()) if admitted.credentials else None
    return {"repository_url": admitted.url, "repository_secret": secret}


def pin(url: str, outbound: OutboundPolicy) -> str | None:
    """Where a fetch of URL may connect, checked by the outbound guard: a server
    of the network is refused like any other outgoing request (unless allowed),
    and for http(s) the checked address is what git must use (`host:port:address`),
    so a second DNS answer cannot move it. None for local repositories, and when
    the name does not resolve now (git then says so itself)."""
    if url.startswith("file://"):
        return None
    scp = _SCP_LIKE.match(url)
    parts = urlsplit(url if scp is None else f"ssh://{scp['user']}@{scp['host']}/{scp['path']}")
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme, 22)
    try:
        address = outbound.host_address(parts.hostname, port, "repository_url")
    except DeliveryFailed:
        return None
    if scheme not in ("http", "https"):
        return None  # ssh resolves for itself: checked, not pinned
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{parts.hostname}:{port}:{shown}"


def stored(url: str, secret: str | None, policy: RepositoryPolicy, vault: Vault) -> Admitted:
    """A stored repository, admitted again (the policy may have changed since)
    with its credentials unsealed, for a run to fetch."""
    admitted = policy.admit(url)
    if secret:
        return Admitted(admitted.url, Credentials.parse(vault.decrypt(secret)))
    return admitted
