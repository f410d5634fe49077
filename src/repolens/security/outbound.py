"""Where outgoing requests may go: one guard for notifications and the HTTP an
analyzer is given now, and for outgoing webhooks and forge APIs next.

A URL is `http(s)://host[:port]/…`. Its host is resolved here, and every
address it resolves to must be public: not loopback, private, link-local,
shared, multicast, reserved or unspecified, an IPv4 address inside IPv6
(mapped, 6to4, Teredo, NAT64) judged as that IPv4 address, unless it lies in
`REPOLENS_OUTBOUND_ALLOWED_NETWORKS`. The request then goes to the address
that was checked, never to a second lookup (DNS rebinding), with the name kept
for `Host` and TLS; redirects are not followed and proxy variables are not
read. A URL is also checked when it is configured: its scheme, and a host
that is an address in any spelling (decimal, octal, hex, short) or
`localhost`."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence

import httpx

from repolens.errors import DeliveryFailed, Refused
from repolens.settings import Network, Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\.?$", re.I)
DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundPolicy:
    def __init__(self, allowed: Sequence[Network] = ()) -> None:
        self.allowed = list(allowed)

    @classmethod
    def of(cls, settings: Settings) -> OutboundPolicy:
        return cls(settings.outbound_allowed_networks)

    def check_url(self, url: str, field: str = "url") -> str:
        """URL, if it may be configured as a target; Refused if not."""
        parts = _split(url, field)
        host = parts.host.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            raise Refused(f"{field} may not point at this server (localhost)", field=field)
        address = literal(host)
        if address is not None:
            self._check(address, host, field)
        return url

    def address(self, url: str, field: str = "url") -> Address:
        """The address a request to URL may connect to: the first its host
        resolves to, every one of them checked. Refused when one is not allowed;
        DeliveryFailed when the name does not resolve now."""
        parts = _split(url, field)
        return self.host_address(parts.host, parts.port or DEFAULT_PORTS[parts.scheme], field)

    def host_address(self, host: str, port: int, field: str = "url") -> Address:
        """`address` for a HOST and PORT (what git's ssh transport connects to)."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise DeliveryFailed(f"{host} does not resolve: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        for address in addresses:
            self._check(address, host, field)
        if not addresses:
            raise DeliveryFailed(f"{host} resolves to no address")
        return addresses[0]

    def post(self, url: str, *, content: bytes, headers: dict[str, str],
             timeout: float) -> httpx.Response:  # fmt: skip
        """POST to URL through the guard: the checked address, no redirects."""
        return self.request("POST", url, content=content, headers=headers, timeout=timeout)

    def request(self, method: str, url: str, *, content: bytes | None = None,
                headers: dict[str, str], timeout: float) -> httpx.Response:  # fmt: skip
        """METHOD to URL through the guard: the checked address, no redirects."""
        parts = _split(url, "url")
        address = self.address(url)
        pinned = parts.copy_with(host=str(address))
        extensions = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
        host = parts.host if parts.port is None else f"{parts.host}:{parts.port}"
        if ":" in parts.host:
            host = f"[{parts.host}]" + ("" if parts.port is None else f":{parts.port}")
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            return client.request(method, pinned, content=content,
                                  headers={**headers, "Host": host},
                                  extensions=extensions)  # fmt: skip

    def _check(self, address: Address, host: str, field: str) -> None:
        if not self._allowed(address):
            raise Refused(
                f"{field} may not point at {host} ({address}): loopback, private, link-local, "
                "multicast and reserved addresses are refused unless listed in "
                "REPOLENS_OUTBOUND_ALLOWED_NETWORKS",
                field=field,
            )

    def _allowed(self, address: Address) -> bool:
        judged = [address, *_embedded(address)]
        if any(candidate in network for candidate in judged for network in self.allowed
               if candidate.version == network.version):  # fmt: skip
            return True
        return all(candidate.is_global and not candidate.is_multicast for candidate in judged)


def literal(host: str) -> Address | None:
    """HOST as an address if it spells one, in any form the resolver accepts."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def _embedded(address: Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries, which is where it really goes."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, (address.teredo or (None, None))[1]]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [each for each in found if each is not None]


def _split(url: str, field: str) -> httpx.URL:
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Refused(f"{field} is not a valid URL", field=field) from None
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        raise Refused(f"{field} must be an http:// or https:// URL with a host", field=field)
    if parts.userinfo:
        raise Refused(f"{field} may not carry credentials", field=field)
    return parts
