"""Webhook channel: every message is POSTed as JSON to a third-party API (httpx).

Answers: 2xx delivered (the provider id is the JSON ``id`` when there is one); 408, 425,
429 and 5xx retry (``Retry-After`` honoured; a 5xx may have been acted on, so a later
delivery counts as "possibly sent twice"); other 4xx refused. Exception: 401, 403,
404, 405, 407 and 413 say our URL, credentials or payload are wrong, not the address, so
they are ``failed`` — refusing would suppress a whole list over a bad header.
A request that may have reached the API is never sent again by us: a timeout or a lost
connection after connecting is ``failed`` "uncertain". Each request carries
``Idempotency-Key: mailforge-<delivery_id>`` so an API that supports it can deduplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from domain.delivery import Message, Outcome, RunContent, SendResult
from infrastructure.channels.fanout import send_each
from infrastructure.rendering import html_to_text

UNCERTAIN = "uncertain: timed out after sending"
LOST = "uncertain: connection lost after sending"
_RETRY_STATUSES = frozenset({408, 425, 429})
_OUR_FAULT = frozenset({401, 403, 404, 405, 407, 413})
# httpx raises these before a byte of the request left: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WebhookChannel:
    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        *,
        timeout: float = 10.0,
        concurrency: int = 16,
    ) -> None:
        self._url = url
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            follow_redirects=False,  # a redirected POST could be sent twice
        )

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        return await send_each(
            self._slots, self._concurrency, messages, lambda m: self._send_one(content, m)
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _send_one(self, content: RunContent, message: Message) -> SendResult:
        delivery_id = message.outbound.delivery_id
        key = {"Idempotency-Key": f"mailforge-{delivery_id}"}
        try:
            response = await self._client.post(
                self._url, json=payload(content, message), headers=key
            )
        except _NOT_SENT as exc:
            return SendResult(delivery_id, Outcome.retry, _describe(exc))
        except httpx.TimeoutException:
            return SendResult(delivery_id, Outcome.failed, UNCERTAIN)
        except httpx.TransportError as exc:
            return SendResult(delivery_id, Outcome.failed, f"{LOST} ({_describe(exc)})")
        except Exception as exc:  # one recipient never fails the batch
            return SendResult(delivery_id, Outcome.failed, _describe(exc))
        return _classify(delivery_id, response)


def payload(content: RunContent, message: Message) -> dict[str, Any]:
    outbound = message.outbound
    return {
        "mailing_id": content.mailing_id,
        "mailing_name": content.mailing_name,
        "run_id": outbound.run_id,
        "delivery_id": outbound.delivery_id,
        "recipient": {
            "kind": str(outbound.kind),
            "value": outbound.value,
            "attributes": outbound.attributes,
        },
        "subject": message.subject if message.subject is not None else content.subject,
        "text": html_to_text(message.body),
        "html": message.body,
    }


def _classify(delivery_id: int, response: httpx.Response) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(delivery_id, Outcome.delivered, provider_id=_provider_id(response))
    error = f"HTTP {status}: {response.text[:200]}".rstrip(": ")
    if status in _RETRY_STATUSES or status >= 500:
        wait = retry_after(response.headers.get("Retry-After"))
        # A 5xx does not say whether the API acted on the request: the retry may repeat it.
        lost = status >= 500
        return SendResult(delivery_id, Outcome.retry, error, retry_after=wait, answer_lost=lost)
    if status in _OUR_FAULT or not 400 <= status < 500:
        return SendResult(delivery_id, Outcome.failed, error)  # incl. 3xx: not followed
    return SendResult(delivery_id, Outcome.refused, error)


def _provider_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found) if found is not None else None


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
