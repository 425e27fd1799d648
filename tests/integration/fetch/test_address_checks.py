"""SSRF protection: refused before connecting, re-checked on every hop, pinned to the IP."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

import pytest

from domain.errors import DomainError
from infrastructure.fetch import HttpFileFetcher, Resolver
from tests.fakes.http_files import FileServer


def fixed(*answers: str, calls: list[str] | None = None) -> Resolver:
    """A resolver that answers every name with ``answers`` (and records the names)."""

    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(answers)

    return resolve


def in_turn(answers: Sequence[str], calls: list[str]) -> Resolver:
    """Answers the first lookup with answers[0], later ones with answers[1] (DNS rebinding)."""

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return [answers[min(len(calls), len(answers)) - 1]]

    return resolve


async def refusal(fetcher: HttpFileFetcher, url: str, dest: Path) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await fetcher.fetch(url, dest)
    return caught.value


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_is_refused_before_any_connection(
    files: FileServer, tmp_path: Path, host: str
) -> None:
    error = await refusal(HttpFileFetcher(), f"http://{host}:{files.port}/list.csv", tmp_path)
    assert (error.key, error.params) == ("fetch-forbidden-address", {"host": host})
    assert files.requests == []


async def test_ipv6_loopback_is_refused_before_any_connection(tmp_path: Path) -> None:
    async with FileServer(host="::1") as server:
        error = await refusal(HttpFileFetcher(), server.url("/list.csv"), tmp_path)
        assert error.key == "fetch-forbidden-address"
        assert server.requests == []


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/list.csv", "http://169.254.169.254/latest/meta-data/", "http://[::]/"]
)
async def test_private_literal_addresses_are_refused(tmp_path: Path, url: str) -> None:
    error = await refusal(HttpFileFetcher(timeout=1), url, tmp_path)
    assert error.key == "fetch-forbidden-address"


@pytest.mark.parametrize(
    "answers",
    [
        ("93.184.216.34", "127.0.0.1"),  # one bad answer among good ones is enough
        ("::ffff:127.0.0.1",),  # IPv4-mapped IPv6
        ("10.0.0.7",),
    ],
)
async def test_every_resolved_address_is_checked(
    files: FileServer, tmp_path: Path, answers: tuple[str, ...]
) -> None:
    fetcher = HttpFileFetcher(resolver=fixed(*answers))
    error = await refusal(fetcher, f"http://lists.test:{files.port}/list.csv", tmp_path)
    assert (error.key, error.params) == ("fetch-forbidden-address", {"host": "lists.test"})
    assert files.requests == []


async def test_connects_to_the_checked_address_with_the_original_host_header(
    files: FileServer, tmp_path: Path
) -> None:
    # "lists.test" exists nowhere (RFC 6761): the download can only work if the fetcher
    # connects to the address its own lookup returned.
    calls: list[str] = []
    fetcher = HttpFileFetcher(allow_private=True, resolver=fixed("127.0.0.1", calls=calls))
    source = await fetcher.fetch(f"http://lists.test:{files.port}/list.csv", tmp_path)
    assert source.filename == "list.csv"
    assert files.requests == [("/list.csv", f"lists.test:{files.port}")]
    assert calls == ["lists.test"]


async def test_localhost_is_resolved_once_and_sent_as_host(
    files: FileServer, tmp_path: Path
) -> None:
    fetcher = HttpFileFetcher(allow_private=True)
    await fetcher.fetch(f"http://localhost:{files.port}/redirect/2", tmp_path)
    assert files.requests == [
        ("/redirect/2", f"localhost:{files.port}"),
        ("/redirect/1", f"localhost:{files.port}"),
        ("/list.csv", f"localhost:{files.port}"),
    ]


async def test_every_redirect_hop_is_resolved_and_checked_again(
    files: FileServer, tmp_path: Path
) -> None:
    # The name first resolves to the server, then "rebinds" to a denied address: the second
    # hop must be refused, not connected to with the first answer or without a check.
    calls: list[str] = []
    fetcher = HttpFileFetcher(
        allow_private=True,
        deny_networks=[ipaddress.ip_network("127.0.0.2/32")],
        resolver=in_turn(["127.0.0.1", "127.0.0.2"], calls),
    )
    error = await refusal(fetcher, f"http://lists.test:{files.port}/redirect/2", tmp_path)
    assert error.key == "fetch-forbidden-address"
    assert calls == ["lists.test", "lists.test"]
    assert [path for path, _ in files.requests] == ["/redirect/2"]


async def test_a_redirect_to_a_denied_address_is_refused(
    files: FileServer, tmp_path: Path
) -> None:
    fetcher = HttpFileFetcher(
        allow_private=True, deny_networks=[ipaddress.ip_network("127.0.0.2/32")]
    )
    target = f"http://127.0.0.2:{files.port}/list.csv"
    error = await refusal(fetcher, files.url(f"/redirect-to?url={target}"), tmp_path)
    assert (error.key, error.params) == ("fetch-forbidden-address", {"host": "127.0.0.2"})
    assert [path for path, _ in files.requests] == ["/redirect-to"]


@pytest.mark.parametrize(
    "answer",
    [
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "::ffff:169.254.169.254",  # the same, IPv4-mapped
    ],
)
async def test_cloud_metadata_stays_refused_when_private_addresses_are_allowed(
    files: FileServer, tmp_path: Path, answer: str
) -> None:
    """IMPORT_ALLOW_PRIVATE_URLS opens the intranet, never the instance's credentials."""
    fetcher = HttpFileFetcher(allow_private=True, resolver=fixed(answer))
    error = await refusal(fetcher, f"http://lists.test:{files.port}/list.csv", tmp_path)
    assert (error.key, error.params) == ("fetch-forbidden-address", {"host": "lists.test"})
    assert files.requests == []


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata"]
)
async def test_metadata_names_are_refused_before_any_lookup(
    files: FileServer, tmp_path: Path, host: str
) -> None:
    calls: list[str] = []
    fetcher = HttpFileFetcher(allow_private=True, resolver=fixed("127.0.0.1", calls=calls))
    error = await refusal(fetcher, f"http://{host}:{files.port}/list.csv", tmp_path)
    assert error.key == "fetch-forbidden-address"
    assert calls == [] and files.requests == []


async def test_a_redirect_to_the_metadata_address_is_refused_with_private_allowed(
    files: FileServer, tmp_path: Path
) -> None:
    fetcher = HttpFileFetcher(allow_private=True, timeout=5)
    target = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    error = await refusal(fetcher, files.url(f"/redirect-to?url={target}"), tmp_path)
    assert (error.key, error.params) == ("fetch-forbidden-address", {"host": "169.254.169.254"})
