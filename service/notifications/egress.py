"""Where webhooks may send: URLs normalised at registration, addresses checked and pinned at each connection.

A receiver's host is written many ways that all reach the same machine: `2130706433`, `127.1`,
`0x7f000001`, `0177.0.0.1` and `0` are 127.0.0.1 (or 0.0.0.0) to the C resolver, `::ffff:127.0.0.1`
is too, and a name can resolve anywhere and change between two look-ups (DNS rebinding). So:

- at registration the host is parsed the way browsers and resolvers do (the WHATWG URL rules for
  IPv4 numbers), stored in its one canonical form, and refused when it is an address, or a
  single-label or `localhost` name, inside the service's network;
- at each delivery the host is resolved, every address it resolves to must be global, and the
  connection goes to the address that was checked (the URL's host still names the TLS server and
  the `Host` header, so certificates are verified as usual).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import string
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from service.errors import Invalid

__all__ = ["NOT_PUBLIC", "BlockedAddress", "PinnedTransport", "is_public", "normalise_url", "public_addresses"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address to a gateway (NAT64) or are reserved for IPv4-compatible
# forms: judged by the IPv4 address they carry, or refused.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HEX = frozenset(string.hexdigits)
NOT_PUBLIC = "must be a public address, not one inside the service's network"


class BlockedAddress(Exception):
    """The receiver's host is, or resolves to, an address inside the service's network."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True for a globally reachable unicast address; loopback, private, link-local (cloud metadata),
    shared, multicast, reserved and IPv6 forms carrying such an IPv4 address are not."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None or address in _IPV4_COMPATIBLE or address in _NAT64_LOCAL:
            return False
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return address.is_global and not address.is_multicast


# --- registration ----------------------------------------------------------------------------


def _ipv4_number(part: str) -> int | None:
    """One dotted part as the WHATWG URL standard reads it: decimal, 0x hex or 0-prefixed octal."""
    radix = 10
    if part[:2].lower() == "0x":
        radix, part = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        radix, part = 8, part[1:]
    if part == "":
        return 0
    digits = {10: string.digits, 16: string.hexdigits, 8: string.octdigits}[radix]
    if any(c not in digits for c in part):
        return None
    return int(part, radix)


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return last != "" and (last.isdigit() or (last[:2].lower() == "0x" and all(c in _HEX for c in last[2:])))


def _parse_ipv4(host: str) -> ipaddress.IPv4Address:
    """The IPv4 address of a host that ends in a number (`127.1`, `2130706433`, `0x7f.1`); Invalid if none."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    numbers = [_ipv4_number(p) if p else None for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise Invalid("url", "the host is neither a valid IPv4 address nor a name")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise Invalid("url", "the host is neither a valid IPv4 address nor a name")
    number = values[-1]
    for i, n in enumerate(values[:-1]):
        number += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(number)


def _canonical_host(host: str) -> tuple[str, IPAddress | None]:
    """The host as it will be stored (IPv4 dotted, IPv6 compressed in brackets, names lowercase ASCII)."""
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise Invalid("url", "the host is not a valid IPv6 address") from None
        if address.scope_id is not None:
            raise Invalid("url", "an IPv6 zone is not allowed")
        return f"[{address.compressed}]", address
    host = host.lower().rstrip(".")
    if not host:
        raise Invalid("url", "must name a host")
    if _ends_in_number(host):
        v4 = _parse_ipv4(host)
        return str(v4), v4
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid("url", "the host is not a valid name") from None
    allowed = set(string.ascii_lowercase + string.digits + "-.")
    if any(c not in allowed for c in ascii_host) or any(not label for label in ascii_host.split(".")):
        raise Invalid("url", "the host is not a valid name")
    return ascii_host, None


def normalise_url(url: str, allow_internal: bool = False) -> str:
    """An absolute http(s) URL with its host in canonical form; 422 naming `url` when unusable.

    Refused unless the deployment allows internal receivers: any address that is not public
    (in whichever form it is written), `localhost` and its subdomains, and single-label names
    (`postgres`, `redis`: the service's neighbours on its own network).
    """
    url = url.strip()
    if len(url) > 500:
        raise Invalid("url", "must be at most 500 characters")
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise Invalid("url", "is not a valid URL")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError:
        raise Invalid("url", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid("url", "must start with https:// or http://")
    netloc = parts.netloc
    if "@" in netloc:
        raise Invalid("url", "must not carry credentials; verify the signature instead")
    if parts.fragment or url.endswith("#"):
        raise Invalid("url", "must not have a #fragment")
    raw_host = netloc.rsplit(":", 1)[0] if (":" in netloc and not netloc.endswith("]")) else netloc
    if not raw_host:
        raise Invalid("url", "must name a host")
    if port == 0:
        raise Invalid("url", "is not a valid URL")
    host, address = _canonical_host(raw_host)
    if not allow_internal:
        internal_name = address is None and (
            host == "localhost" or host.endswith(".localhost") or "." not in host
        )
        if internal_name or (address is not None and not is_public(address)):
            raise Invalid("url", NOT_PUBLIC)
    netloc = host if port is None else f"{host}:{port}"
    normalised = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    if len(normalised) > 500:
        raise Invalid("url", "must be at most 500 characters")
    return normalised


# --- delivery --------------------------------------------------------------------------------


async def public_addresses(host: str, port: int, allow_internal: bool = False) -> list[str]:
    """Resolve the host once; its addresses in the resolver's order if every one is public (BlockedAddress
    otherwise)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BlockedAddress(f"{host} does not resolve") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        # IPv6 sockaddrs carry a scope id as their fourth member; keep it on the address.
        text = str(sockaddr[0])
        if len(sockaddr) == 4 and sockaddr[3]:
            text = f"{text.split('%')[0]}%{sockaddr[3]}"
        addresses.append(ipaddress.ip_address(text))
    if not addresses:
        raise BlockedAddress(f"{host} does not resolve")
    if not allow_internal and not all(is_public(a) for a in addresses):
        raise BlockedAddress(f"{host} resolves to an address inside the service's network")
    return list(dict.fromkeys(str(a) for a in addresses))


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address that was checked, not to whatever a second look-up would return."""

    def __init__(self, allow_internal: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_internal = allow_internal

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # Each checked address in turn, as a browser would: a receiver whose name also has an IPv6
        # address that does not answer (or an IPv4 one) is still reached on the other.
        addresses = await public_addresses(host, port, self._allow_internal)
        options = list(socket_options) if socket_options is not None else None
        for address in addresses[:-1]:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return await self._inner.connect_tcp(addresses[-1], port, timeout, local_address, options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with no proxies from the environment and connections only to checked addresses.

    TLS still verifies the certificate against the URL's host name (httpcore passes it as SNI),
    and the Host header still names it: only the socket's destination is pinned.
    """

    def __init__(
        self, allow_internal: bool = False, max_connections: int = 20, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(trust_env=False, retries=0)
        # Replaces the pool httpx built: the one supported way to give httpcore a network backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(), max_connections=max_connections,
            network_backend=_PinnedBackend(allow_internal),
        )
