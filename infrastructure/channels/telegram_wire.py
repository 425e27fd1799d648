"""The broadcast's Bot API requests, written straight onto aiogram's HTTP session.

aiogram builds each request from a pydantic model (the method), dumps it back to a dict,
prepares every value, fills an ``aiohttp.FormData`` (which makes a multipart writer, with
a fresh ``uuid4`` boundary, even for a plain form) and parses each answer into a pydantic
``Response``. Measured in ``mailforge run`` sending a paid broadcast at 1000/s
(``bench/delivery.py --e2e --e2e-only paid``, py-spy), that was about a third of the
delivery thread's CPU per message: on a two-core machine shared with the Bot API it is
what kept the send below the rate paid for.

``post_form`` sends the same fields as the same ``application/x-www-form-urlencoded``
request (https://core.telegram.org/bots/api#making-requests) on the same session and
connection pool, and reads a successful answer with ``json.loads`` alone. Every other
answer (an error, a 429, a body that is not what Telegram documents) and every network
failure goes through aiogram's own ``check_response`` and exceptions, with the real
aiogram method built then (``method``), so callers see exactly what ``bot(method)``
raises: the channel's error handling (``TelegramChannel._classify``) is unchanged.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiohttp import ClientError, ClientTimeout

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Lazily built aiogram method of one request: only an error needs it.
MethodOf = Callable[[], TelegramMethod[Any]]


@functools.lru_cache(maxsize=8)
def _timeout(seconds: float) -> ClientTimeout:
    return ClientTimeout(total=seconds)


def form(fields: Mapping[str, str | None]) -> bytes:
    """The request body: the fields that are set, URL-encoded as aiohttp's form does."""
    return urlencode({k: v for k, v in fields.items() if v is not None}).encode()


@dataclass(frozen=True, slots=True)
class Prepared:
    """One request, encoded before its rate-limiter slot is taken: once the slot is
    granted, nothing but the write stands between it and the server (a send holds its
    place in the limiter's budget while it is in flight: the shorter, the better)."""

    name: str  # the Bot API method
    body: bytes
    method: MethodOf  # the aiogram method, built only to read an error

    @classmethod
    def of(cls, name: str, fields: Mapping[str, str | None], method: MethodOf) -> Prepared:
        return cls(name, form(fields), method)


async def send_for_id(bot: Bot, request: Prepared) -> int:
    """Send ``request`` (a method that answers the sent ``Message``); the sent message's
    id. Any answer but a plain success is read by aiogram as the answer to
    ``request.method()`` (a method answered with ``SentId``): the same value, or the same
    exception, as ``bot(request.method())``."""
    session = bot.session
    assert isinstance(session, AiohttpSession)
    client = await session.create_session()
    url = session.api.api_url(token=bot.token, method=request.name)
    timeout = _timeout(session.timeout)
    try:
        async with client.post(url, data=request.body, headers=_FORM, timeout=timeout) as resp:
            raw = await resp.read()
            status = resp.status
    except TimeoutError as exc:  # asyncio's, as aiogram catches it (before ClientError)
        message = "Request timeout error"
        raise TelegramNetworkError(method=request.method(), message=message) from exc
    except ClientError as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise TelegramNetworkError(method=request.method(), message=message) from exc
    if status == 200:
        found = _sent_id(raw)
        if found is not None:
            return found
    text = raw.decode("utf-8", errors="replace")
    sent: Any = session.check_response(bot, request.method(), status, text).result  # a SentId
    return int(sent.message_id)


def _sent_id(raw: bytes) -> int | None:
    """The id of a successful answer as Telegram documents it, else None."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        return None
    result = answer.get("result")
    found = result.get("message_id") if isinstance(result, dict) else None
    return found if type(found) is int else None
