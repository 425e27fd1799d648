"""``SendsayClient``: the Sendsay JSON API over httpx, with its REDIRECT protocol.

Protocol (SENDSAY.md: Sendsay's docs how-to-get-apikey.mdx, the official clients
sendsay-ru/sendsay-api-python and sendsay-api-js):

- ``POST {base_url}/{account}``, a UTF-8 JSON body ``{"action": …, …}``, the key in
  ``Authorization: sendsay apikey=KEY`` and nowhere else (two credentials are
  ``too_many_auth_parameters``).
- Errors are checked before REDIRECT, as the official clients do. ``{"REDIRECT": value}``
  means the account lives elsewhere: the clients append the value to the API host, keep
  using it, and stop after 10 hops; so do we. An absolute URL is accepted too, but never a
  downgrade from https to http.
- Long actions answer ``{"track.id": N}``; ``track.get {id}`` returns ``obj.status``, maybe
  as a string: -1 done; -2 error, -3 cancelled, -6 not moderated (final failures); -4 later,
  -5 on moderation and 0…6 running (keep polling).

Assumed (SENDSAY.md "Unknown": HTTP statuses of API errors): 429 and 5xx are transient
whatever the body says; an answer that is not a JSON object (a proxy's HTML page) is
transient too; 401/403 without an ``errors`` body are an auth error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import TracebackType
from typing import Any, Self

import httpx

from infrastructure.sendsay.errors import (
    BAD_REDIRECT,
    TOO_MANY_REDIRECTS,
    SendsayAuthError,
    SendsayError,
    SendsayTransientError,
    error_from_answer,
)

DEFAULT_BASE_URL = "https://api.sendsay.ru/general/api/v100/json"
MAX_REDIRECTS = 10  # the official clients' limit
TRACK_DONE, TRACK_ERROR, TRACK_CANCELLED, TRACK_LATER, TRACK_MODERATION = -1, -2, -3, -4, -5
TRACK_NOT_MODERATED = -6
TRACK_FAILED = frozenset({TRACK_ERROR, TRACK_CANCELLED, TRACK_NOT_MODERATED})
TRACK_WAITING = frozenset({TRACK_LATER, TRACK_MODERATION, *range(7)})

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
        raise SendsayError(TOO_MANY_REDIRECTS, action=action)

    async def wait_track(
        self,
        track_id: int | str,
        *,
        poll_interval: float = 2.0,
        timeout: float = 600.0,  # noqa: ASYNC109 - a polling budget, ends in a Sendsay error
    ) -> dict[str, Any]:
        """Poll ``track.get`` until the action settles; return its ``obj``.

        Raises ``SendsayError`` when it failed, was cancelled or was not moderated, and
        ``SendsayTransientError`` when it is still running after ``timeout`` seconds (an
        unknown status is polled like a running one, with a warning).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            answer = await self.request("track.get", id=track_id)
            track = track_obj(answer)
            status = track_status(track)
            if status == TRACK_DONE:
                return dict(track)
            if status in TRACK_FAILED:
                raise SendsayError(f"track/status/{status}", track, action="track.get")
            if status not in TRACK_WAITING:
                logger.warning("sendsay: track %s has an unknown status %r", track_id, status)
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
            kind = response.headers.get("content-type", "?").split(";")[0]
            raise SendsayTransientError(
                "sendsay/not_json",
                f"HTTP {status}, {kind}",
                action=action,
                retry_after=retry_after,
            )
        errors = answer.get("errors") or ([answer["error"]] if answer.get("error") else [])
        if errors:
            raise error_from_answer(errors, action=action, retry_after=retry_after)
        if status in (401, 403):
            raise SendsayAuthError(f"http/{status}", action=action)
        if status >= 400:
            raise SendsayError(f"http/{status}", action=action)
        return answer

    def _redirect_target(self, value: str, action: str) -> httpx.URL:
        if "://" in value:
            target = httpx.URL(value)
        else:  # appended to the host, as the official clients do
            target = self.url.copy_with(raw_path=("/" + value.lstrip("/")).encode())
        insecure = self.url.scheme == "https" and target.scheme != "https"
        if target.scheme not in ("http", "https") or insecure:
            raise SendsayError(BAD_REDIRECT, value, action=action)
        return target


def track_obj(answer: dict[str, Any]) -> dict[str, Any]:
    """The ``obj`` of a ``track.get`` answer (empty when there is none)."""
    obj = answer.get("obj")
    return dict(obj) if isinstance(obj, dict) else {}


def track_status(obj: dict[str, Any]) -> int | None:
    """``obj.status`` of a ``track.get`` answer as a number (it may come as a string)."""
    try:
        return int(str(obj.get("status")).strip())
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: rare from an API, and not worth parsing
        return None
