"""``HttpFileFetcher``: downloads a CSV/XLSX link into a local file (``RemoteFileFetcher``).

How the address check is made to stick (DNS rebinding): every hop goes to the address
checked for it (``infrastructure.fetch.pinned``); httpx never resolves the name again, so
a second DNS answer cannot swap the address. Redirects are followed by hand, each hop
validated and resolved the same way. Proxies from the environment are ignored
(``trust_env=False``): they would bypass it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx

from domain.errors import DomainError
from domain.imports import ImportSource
from infrastructure.fetch.addresses import IPNetwork, Resolver, system_resolver
from infrastructure.fetch.naming import EXTENSIONS, choose_filename, media_type
from infrastructure.fetch.pinned import pinned_request
from infrastructure.fetch.sniff import HTML_MEDIA_TYPES, HtmlSniffer
from infrastructure.fetch.urls import google_sheets_export_url, parse_link

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 100 * MB
DEFAULT_TIMEOUT = 60.0
MAX_REDIRECTS = 5
ACCEPT = ", ".join([*EXTENSIONS, "text/plain;q=0.5", "*/*;q=0.1"])
USER_AGENT = "MailForge/0.1 (recipient list import)"
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class HttpFileFetcher:
    """Streams a link to ``dest_dir`` with a size cap, a total timeout and SSRF checks.

    ``allow_private=True`` lifts the address check (tests on 127.0.0.1, intranet
    installs); cloud metadata endpoints (``addresses.METADATA_NETWORKS`` and
    ``METADATA_HOSTS``) and ``deny_networks`` stay refused even then. ``resolver``
    replaces the system DNS lookup (a custom DNS, or tests that map a made-up name to
    127.0.0.1); connections always go over real sockets. ``verify`` takes an
    ``ssl.SSLContext`` for a private CA.
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        deny_networks: Sequence[IPNetwork] = (),
        max_redirects: int = MAX_REDIRECTS,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.allow_private = allow_private
        self.max_redirects = max_redirects
        self.deny_networks = tuple(deny_networks)
        self.verify = verify
        self._resolve = resolver or system_resolver

    async def fetch(self, url: str, dest_dir: Path) -> ImportSource:
        start = google_sheets_export_url(parse_link(url))
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(start, dest_dir)
        except (TimeoutError, httpx.TimeoutException) as error:
            raise DomainError("fetch-timeout", seconds=f"{self.timeout:g}") from error

    async def _follow(self, url: httpx.URL, dest_dir: Path) -> ImportSource:
        client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            verify=self.verify,
            timeout=httpx.Timeout(self.timeout),
            headers={"Accept": ACCEPT, "User-Agent": USER_AGENT},
        )
        async with client:
            for _ in range(self.max_redirects + 1):
                async with self._open(client, url) as response:
                    if not response.is_redirect:
                        return await self._save(response, url, dest_dir)
                    location = response.headers.get("location")
                    if not location:
                        raise DomainError("fetch-http-error", status=response.status_code)
                    url = parse_link(str(url.join(location)))
        raise DomainError("fetch-too-many-redirects", limit=self.max_redirects)

    @asynccontextmanager
    async def _open(
        self, client: httpx.AsyncClient, url: httpx.URL
    ) -> AsyncIterator[httpx.Response]:
        host = url.raw_host.decode("ascii")
        request = await pinned_request(
            client,
            "GET",
            url,
            self._resolve,
            allow_private=self.allow_private,
            deny=self.deny_networks,
        )
        try:
            response = await client.send(request, stream=True)
            try:
                yield response
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise  # fetch() reports every kind of timeout the same way
        except httpx.TransportError as error:  # refused, reset, TLS failure, broken body
            raise DomainError("fetch-unreachable", host=host) from error

    async def _save(
        self, response: httpx.Response, url: httpx.URL, dest_dir: Path
    ) -> ImportSource:
        if not response.is_success:
            raise DomainError("fetch-http-error", status=response.status_code)
        content_type = media_type(response.headers.get("content-type"))
        if content_type in HTML_MEDIA_TYPES:
            raise DomainError("fetch-not-a-table")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        filename = choose_filename(
            response.headers.get("content-disposition"), url.path, content_type
        )
        suffix = Path(filename).suffix
        await anyio.Path(dest_dir).mkdir(parents=True, exist_ok=True)
        path = dest_dir / f"fetch-{uuid.uuid4().hex}{suffix if _SAFE_SUFFIX.match(suffix) else ''}"
        try:
            await self._write_body(response, path)
        except BaseException:
            # Timeouts cancel us (a BaseException): the partial file must go in every case.
            await anyio.Path(path).unlink(missing_ok=True)
            raise
        return ImportSource(path=path, filename=filename)

    async def _write_body(self, response: httpx.Response, path: Path) -> None:
        sniffer = HtmlSniffer()
        size = 0
        async with await anyio.open_file(path, "wb") as out:
            # aiter_bytes() decompresses: the cap applies to what lands on disk (gzip bombs).
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large()
                sniffer.feed(chunk)
                if sniffer.is_html:
                    raise DomainError("fetch-not-a-table")
                await out.write(chunk)
        sniffer.finish()
        if sniffer.is_html:
            raise DomainError("fetch-not-a-table")

    def _too_large(self) -> DomainError:
        megabytes = self.max_bytes / MB
        limit = f"{megabytes:.0f}" if megabytes >= 10 else f"{megabytes:.2g}"
        return DomainError("fetch-too-large", limit_mb=limit)
