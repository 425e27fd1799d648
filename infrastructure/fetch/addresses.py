"""Which IP addresses a link may lead to, and resolving a host to checked addresses.

Server-side request forgery: a manager's link must not make the server talk to itself,
the local network or a cloud metadata endpoint (169.254.169.254). We resolve the name
ourselves, refuse it when *any* answer is non-public (an attacker's DNS may mix a public
and a private answer), and the fetcher then connects to the address we checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from domain.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Resolves (host, port) to IP address strings; the default asks the system resolver.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; a gateway would reach it.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def is_forbidden(ip: IPAddress) -> bool:
    """True for private, loopback, link-local, multicast, reserved, unspecified addresses.

    Python 3.11 does not look inside IPv4-mapped IPv6 (``::ffff:127.0.0.1`` is not
    "loopback" there), so embedded IPv4 addresses are unwrapped and checked too.
    ``is_global`` also rules out shared (100.64/10) and documentation ranges.
    """
    inner = embedded_ipv4(ip)
    if inner is not None and is_forbidden(inner):
        return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_checked(
    host: str,
    port: int,
    resolver: Resolver,
    *,
    allow_private: bool,
    deny: Sequence[IPNetwork] = (),
) -> IPAddress:
    """Resolve ``host`` and return the address to connect to, or raise a ``fetch-*`` error.

    Every answer is checked before the first one is returned, so nothing is connected
    to when any of them is forbidden. ``deny`` networks are refused even when private
    addresses are allowed (e.g. the cloud metadata address on an intranet install).
    """
    try:
        answers = await resolver(host, port)
    except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
        raise DomainError("fetch-unreachable", host=host) from error
    addresses: list[IPAddress] = []
    for answer in answers:
        # getaddrinfo adds "%scope" to link-local IPv6 answers; the scope is irrelevant here.
        addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
    if not addresses:
        raise DomainError("fetch-unreachable", host=host)
    for ip in addresses:
        denied = any(ip.version == net.version and ip in net for net in deny)
        if denied or (not allow_private and is_forbidden(ip)):
            raise DomainError("fetch-forbidden-address", host=host)
    return addresses[0]
