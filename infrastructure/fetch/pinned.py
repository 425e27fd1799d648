"""A request to the address we checked, never to a second DNS answer (DNS rebinding).

The host is resolved here (``resolve_checked``: every answer must be allowed), and the
request goes to that IP with the original ``Host`` header and, for HTTPS, the original
name as SNI (httpcore's ``sni_hostname`` extension), so the certificate is still
verified against the name. Shared by the list fetcher and the event webhooks.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from infrastructure.fetch.addresses import IPNetwork, Resolver, resolve_checked


async def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    resolver: Resolver,
    *,
    allow_private: bool,
    deny: Sequence[IPNetwork] = (),
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    ip = await resolve_checked(host, port, resolver, allow_private=allow_private, deny=deny)
    return client.build_request(
        method,
        url.copy_with(host=str(ip)),
        content=content,
        headers={**(headers or {}), "Host": url.netloc.decode("ascii")},
        extensions={"sni_hostname": host} if url.scheme == "https" else {},
    )
