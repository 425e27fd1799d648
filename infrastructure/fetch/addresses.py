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

# Cloud instance metadata (credentials, user data): refused always, even when private
# addresses are allowed (IMPORT_ALLOW_PRIVATE_URLS, an intranet install). Link-local
# IPv4 holds AWS/GCP/Azure/OpenStack/DigitalOcean/Oracle (169.254.169.254) and ECS
# (169.254.170.2) metadata; AWS's IPv6 endpoint; Alibaba Cloud's; Oracle Cloud Classic's.
METADATA_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("169.254.0.0/16"),
    ipaddress.IPv6Network("fd00:ec2::254/128"),
    ipaddress.IPv4Network("100.100.100.200/32"),
    ipaddress.IPv4Network("192.0.0.192/32"),
)
# Names of those endpoints, refused before any lookup (an intranet resolver may answer
# them with an address of its own).
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)


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


def is_metadata(ip: IPAddress) -> bool:
    """A cloud metadata address, directly or inside an IPv6 one (mapped, NAT64…)."""
    inner = embedded_ipv4(ip)
    if inner is not None and is_metadata(inner):
        return True
    return any(ip.version == net.version and ip in net for net in METADATA_NETWORKS)


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
    to when any of them is forbidden. Cloud metadata endpoints (``METADATA_NETWORKS``,
    ``METADATA_HOSTS``) and ``deny`` networks are refused even when private addresses
    are allowed (an intranet install).
    """
    if host.lower().rstrip(".") in METADATA_HOSTS:
        raise DomainError("fetch-forbidden-address", host=host)
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
        denied = is_metadata(ip) or any(ip.version == net.version and ip in net for net in deny)
        if denied or (not allow_private and is_forbidden(ip)):
            raise DomainError("fetch-forbidden-address", host=host)
    return addresses[0]
