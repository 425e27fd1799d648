"""``SendsayClient``: the Sendsay JSON API over httpx, with its REDIRECT protocol.

Protocol (Sendsay API docs "Формат протокола" and the official clients
sendsay-ru/sendsay-api-python and sendsay-api-js):

- ``POST {base_url}/{account}``, a UTF-8 JSON body ``{"action": …, …}``, the key in
  ``Authorization: sendsay apikey=KEY``.
- An answer may be ``{"REDIRECT": "/general/api/v100/json/<account>"}``: the account
  lives on another cluster. The value is a path on the API host (the official clients
  append it to ``https://api.sendsay.ru``); we re-send there and keep using it, as they
  do, with a limit of 10 hops. An absolute URL is accepted too, but never a downgrade
  from https to http.
- Long actions answer ``{"track.id": N}``; ``track.get`` with ``id`` returns
  ``obj.status``: negative when finished (-1 done, -2 error, -3 cancelled, …).

The delivery engine's actions are one call each, e.g.
``await client.request("issue.send", group="personal", email=addr, sendwhen="now",
letter={...})`` or ``request("issue.send", group="masssending", **{"users.list": …})``,
then ``wait_track(answer["track.id"])``; likewise ``member.set``, ``member.import`` and
``stat.uni``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import TracebackType
from typing import Any, Self

import httpx

from infrastructure.sendsay.errors import (
    SendsayAuthError,
    SendsayError,
    SendsayTransientError,
    error_from_answer,
)

DEFAULT_BASE_URL = "https://api.sendsay.ru/general/api/v100/json"
MAX_REDIRECTS = 10  # the official clients' limit
TRACK_DONE, TRACK_ERROR, TRACK_CANCELLED, TRACK_LATER, TRACK_MODERATION = -1, -2, -3, -4, -5
TRACK_NOT_MODERATED = -6
# "Finished" for polling purposes without being a failure: done, postponed, in moderation.
TRACK_SETTLED = frozenset({TRACK_DONE, TRACK_LATER, TRACK_MODERATION})

logger = logging.getLogger(__name__)


class SendsayClient:
    """One Sendsay account. Reuses connections; close it with ``aclose()``."""

    def __init__(
        self,
        account: str,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
    ) -> None:
        self.account = account
        self.url = httpx.URL(f"{base_url.rstrip('/')}/{account}")
        self._http = httpx.AsyncClient(
            timeout=timeout,
            headers={
                "Authorization": f"sendsay apikey={api_key}",
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )

    def __repr__(self) -> str:  # the API key must never show up in logs or tracebacks
        return f"SendsayClient(account={self.account!r}, url={str(self.url)!r})"

    async def request(self, action: str, /, **params: Any) -> dict[str, Any]:
        """Run one action and return Sendsay's answer; raise ``SendsayError`` subclasses."""
        body = json.dumps({"action": action, **params}, ensure_ascii=False).encode("utf-8")
        for _ in range(MAX_REDIRECTS + 1):
            answer = await self._post(action, body)
            redirect = answer.get("REDIRECT")
            if not redirect:
                return answer
            self.url = self._redirect_target(str(redirect), action)
            logger.info("sendsay: %s redirected to %s", action, self.url)
        raise SendsayError("sendsay/too_many_redirects", action=action)

    async def wait_track(
        self,
        track_id: int | str,
        *,
        poll_interval: float = 2.0,
        timeout: float = 600.0,  # noqa: ASYNC109 - a polling budget, ends in a Sendsay error
    ) -> dict[str, Any]:
        """Poll ``track.get`` until the action settles; return its ``obj``.

        Raises ``SendsayError`` when it failed or was cancelled, and
        ``SendsayTransientError`` when it is still running after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            answer = await self.request("track.get", id=track_id)
            track = answer.get("obj") or {}
            status = int(track.get("status", 0))
            if status in TRACK_SETTLED:
                return dict(track)
            if status < 0:
                raise SendsayError(f"track/status/{status}", track, action="track.get")
            if loop.time() + poll_interval > deadline:
                raise SendsayTransientError("sendsay/track_timeout", track, action="track.get")
            await asyncio.sleep(poll_interval)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _post(self, action: str, body: bytes) -> dict[str, Any]:
        logger.debug("sendsay: %s -> %s", action, self.url)
        try:
            response = await self._http.post(self.url, content=body)
        except httpx.TimeoutException as error:
            raise SendsayTransientError("sendsay/timeout", action=action) from error
        except httpx.TransportError as error:
            raise SendsayTransientError(
                "sendsay/connection", type(error).__name__, action=action
            ) from error
        status = response.status_code
        retry_after = _seconds(response.headers.get("retry-after"))
        if status == 429 or status >= 500:
            raise SendsayTransientError(f"http/{status}", action=action, retry_after=retry_after)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if status in (401, 403):
                raise SendsayAuthError(f"http/{status}", action=action)
            raise SendsayError(f"http/{status}/not_json", action=action)
        errors = answer.get("errors") or ([answer["error"]] if answer.get("error") else [])
        if errors:
            raise error_from_answer(errors, action=action, retry_after=retry_after)
        if status in (401, 403):
            raise SendsayAuthError(f"http/{status}", action=action)
        if status >= 400:
            raise SendsayError(f"http/{status}", action=action)
        return answer

    def _redirect_target(self, value: str, action: str) -> httpx.URL:
        target = self.url.join(value)
        insecure = self.url.scheme == "https" and target.scheme != "https"
        if target.scheme not in ("http", "https") or insecure:
            raise SendsayError("sendsay/bad_redirect", value, action=action)
        return target


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: rare from an API, and not worth parsing
        return None
