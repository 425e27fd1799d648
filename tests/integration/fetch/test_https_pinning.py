"""HTTPS with the pinned address: the certificate is still checked against the link's name.

A self-signed certificate for "lists.test" is made with the openssl command line tool; the
fetcher trusts it through ``verify`` and resolves "lists.test" to 127.0.0.1 itself.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.errors import DomainError
from infrastructure.fetch import HttpFileFetcher
from tests.fakes.http_files import CSV_BODY, FileServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_files(tmp_path: Path) -> AsyncIterator[tuple[FileServer, ssl.SSLContext]]:
    cert, key = make_certificate(tmp_path, "lists.test")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    async with FileServer(ssl_context=server_context) as server:
        yield server, client_context


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def test_https_uses_the_link_name_for_sni_and_certificate_check(
    tls_files: tuple[FileServer, ssl.SSLContext], tmp_path: Path
) -> None:
    server, trust = tls_files
    fetcher = HttpFileFetcher(allow_private=True, resolver=to_loopback, verify=trust)
    source = await fetcher.fetch(f"https://lists.test:{server.port}/list.csv", tmp_path)
    assert source.path.read_bytes() == CSV_BODY
    assert server.requests == [("/list.csv", f"lists.test:{server.port}")]


async def test_a_certificate_for_another_name_is_unreachable(
    tls_files: tuple[FileServer, ssl.SSLContext], tmp_path: Path
) -> None:
    server, trust = tls_files
    fetcher = HttpFileFetcher(allow_private=True, resolver=to_loopback, verify=trust)
    with pytest.raises(DomainError) as caught:
        await fetcher.fetch(f"https://other.test:{server.port}/list.csv", tmp_path)
    assert caught.value.key == "fetch-unreachable"
    assert server.requests == []
