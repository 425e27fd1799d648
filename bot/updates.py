"""How Telegram updates reach the bot: long polling (default) or a webhook.

With ``TELEGRAM_WEBHOOK_URL`` set, the bot registers that URL with ``setWebhook`` and a
secret token at start, and takes the updates on its own web server at the URL's path.
Telegram sends the token back in ``X-Telegram-Bot-Api-Secret-Token``
(https://core.telegram.org/bots/api#setwebhook); a call without the right one gets 401
and is not processed (compared in constant time).
Polling first deletes any webhook left from webhook mode, or ``getUpdates`` would be
refused with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.settings import Settings
from bot.web import TELEGRAM_UPDATE_MAX_BYTES, Site

log = logging.getLogger(__name__)


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


class TelegramWebhook:
    """``POST <path of TELEGRAM_WEBHOOK_URL>``: the update is answered 200 at once and
    handled in the background (as aiogram's ``SimpleRequestHandler`` does); a call
    without the right secret token gets 401 and is not read."""

    def __init__(self, dp: Dispatcher, bot: Bot, secret: str) -> None:
        self.dp, self.bot, self.secret = dp, bot, secret
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return PlainTextResponse("Unauthorized", status_code=401)
        try:
            update = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("Not JSON", status_code=400)
        if not isinstance(update, dict):
            return PlainTextResponse("Not an update", status_code=400)
        task = asyncio.create_task(self._feed(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse({})

    async def _feed(self, update: dict[str, Any]) -> None:
        result = await self.dp.feed_raw_update(self.bot, update)
        if isinstance(result, TelegramMethod):
            await self.dp.silent_call_request(self.bot, result)


def install_webhook(site: Site, dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    """Route the webhook's path to the dispatcher (webhook mode only), with bodies up to
    ``TELEGRAM_UPDATE_MAX_BYTES``."""
    path = settings.telegram.webhook_path
    if path is None:
        return
    hook = TelegramWebhook(dp, bot, settings.telegram.webhook_key())
    site.add(path, hook.handle, ["POST"], max_body=TELEGRAM_UPDATE_MAX_BYTES)


async def receive_by_webhook(
    bot: Bot, dp: Dispatcher, settings: Settings, stop: asyncio.Event, *, handle_signals: bool
) -> None:
    """Register the webhook, then serve until ``stop`` is set (or SIGINT/SIGTERM)."""
    url = settings.telegram.webhook_url
    assert url is not None
    await bot.set_webhook(
        url,
        secret_token=settings.telegram.webhook_key(),
        allowed_updates=dp.resolve_used_update_types(),
    )
    log.info("Telegram updates arrive by webhook at %s", settings.telegram.webhook_path)
    with on_signals(stop.set, enabled=handle_signals):
        await stop.wait()


async def receive_by_polling(
    bot: Bot,
    dp: Dispatcher,
    stopping: asyncio.Event,
    *,
    handle_signals: bool,
    polling_timeout: int,
) -> None:
    """Poll until aiogram stops (a signal) or ``stopping`` is set. A stop asked for
    before polling had begun (``stop_polling`` refuses then) is not lost: it is asked
    again until polling has started and ended."""
    await bot.delete_webhook(drop_pending_updates=False)
    if stopping.is_set():
        return
    polling = asyncio.create_task(
        dp.start_polling(
            bot,
            handle_signals=handle_signals,
            close_bot_session=False,
            polling_timeout=polling_timeout,
            allowed_updates=dp.resolve_used_update_types(),
        )
    )
    asked = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({polling, asked}, return_when=asyncio.FIRST_COMPLETED)
        while not polling.done():
            with suppress(RuntimeError):  # "Polling is not started" yet
                await dp.stop_polling()
            await asyncio.wait({polling}, timeout=0.1)
    finally:
        asked.cancel()
    await polling  # its error, if any


@contextmanager
def on_signals(callback: Callable[[], None], *, enabled: bool = True) -> Iterator[None]:
    """Call ``callback`` on SIGINT or SIGTERM while inside the block."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if enabled else ()
    for signum in signals:
        loop.add_signal_handler(signum, callback)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
