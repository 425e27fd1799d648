"""The bot's own messages to people survive Telegram's flood control.

Telegram answers 429 with ``parameters.retry_after`` when a bot sends too fast, in one
chat (about 1 message/s sustained) or in all (https://core.telegram.org/bots/faq
#my-bot-is-hitting-limits-how-do-i-avoid-this); the request was not carried out and the
only correct answer is to wait that long and send it again. aiogram raises
``TelegramRetryAfter`` and does not retry, so without this a preview card or a progress
edit was lost and the error went only to the log.

``FloodWaitMiddleware`` sits on the session of the bot that talks to people (answers,
previews, progress edits, reports, documents), never on the delivery engine's, which
handles 429s itself (``TelegramChannel``): nothing is retried twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)
# Methods that put a message in a chat: they count against the bot's sending limits.
_MESSAGE_PREFIXES = ("send", "edit", "copy", "forward")


class FloodWaitMiddleware(BaseRequestMiddleware):
    """Waits out up to ``attempts`` 429s of one request, each no longer than ``max_wait``
    seconds (a longer one is raised: the caller's error handling takes over). ``note``
    hears each message sent, so that broadcasts leave room for it (``RateLimiter.note``);
    it runs in the background and its failure never touches the reply."""

    def __init__(
        self,
        *,
        attempts: int = 3,
        max_wait: float = 60.0,
        note: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._attempts = attempts
        self._max_wait = max_wait
        self._note = note
        self._noting: set[asyncio.Task[None]] = set()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(self._attempts + 1):
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                if attempt >= self._attempts or wait > self._max_wait:
                    raise
                log.warning(
                    "Telegram flood control on %s: retrying in %.0f s (%d of %d)",
                    method.__api_method__,
                    wait,
                    attempt + 1,
                    self._attempts,
                )
                await asyncio.sleep(wait)
                continue
            if self._note is not None and method.__api_method__.startswith(_MESSAGE_PREFIXES):
                self._background_note()
            return response
        raise AssertionError("unreachable")

    def _background_note(self) -> None:
        assert self._note is not None
        task = asyncio.create_task(_quietly(self._note))
        self._noting.add(task)
        task.add_done_callback(self._noting.discard)


async def _quietly(note: Callable[[], Awaitable[None]]) -> None:
    try:
        await note()
    except Exception:  # the reply went out; only the broadcasts' headroom is missed
        log.debug("Could not note a reply in the rate limiter", exc_info=True)
