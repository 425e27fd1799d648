"""``HttpWebhookPoster``: POSTs event webhooks (``domain.ports.webhooks.WebhookPoster``) with the
same guard as list links: http(s) only, no credentials in the URL, and the address
checked at every send (``pinned``), so a receiver's name that later resolves to the
local network, the server itself or a metadata endpoint is refused, not contacted.

Redirects are not followed (a 3xx is a failed attempt: a redirected POST could land
elsewhere); proxies from the environment are ignored (they would bypass the check). The
answer's body is not read beyond its first bytes: only the status matters.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from domain.backoff import short_error
from domain.errors import DomainError
from domain.webhooks import Answer
from infrastructure.fetch.addresses import IPNetwork, Resolver, resolve_checked, system_resolver
from infrastructure.fetch.pinned import pinned_request
from infrastructure.fetch.urls import parse_link

USER_AGENT = "MailForge-Webhooks/1"
DEFAULT_TIMEOUT = 10.0


class HttpWebhookPoster:
    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        deny_networks: Sequence[IPNetwork] = (),
    ) -> None:
        self.allow_private = allow_private
        self.deny_networks = tuple(deny_networks)
        self._resolve = resolver or system_resolver
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None  # made for the first webhook sent

    def _http(self) -> httpx.AsyncClient:
        """The client, made at first use: most bots send no webhooks, and each client
        builds its own TLS context (~50 ms of CPU at every start, in every test too)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self._timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    async def check(self, url: str) -> str:
        parsed = parse_link(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await resolve_checked(
            host, port, self._resolve, allow_private=self.allow_private, deny=self.deny_networks
        )
        return str(parsed)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            request = await pinned_request(
                self._http(),
                "POST",
                parse_link(url),
                self._resolve,
                allow_private=self.allow_private,
                deny=self.deny_networks,
                content=body,
                headers=headers,
            )
        except DomainError as error:
            return Answer(None, f"{error.key} ({error.params.get('host', url)})")
        try:
            response = await self._http().send(request)
        except httpx.TimeoutException:
            return Answer(None, "timed out")
        except httpx.HTTPError as exc:
            return Answer(None, short_error(exc))
        return Answer(response.status_code, None if response.is_success else _said(response))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _said(response: httpx.Response) -> str:
    text = " ".join(response.text[:200].split())
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")
