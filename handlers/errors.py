"""Turns domain errors into a message in the caller's language.

Registered as an inner middleware, so it runs inside the i18n context. Anything
unexpected is logged with its traceback and the user gets a short apology instead
of silence; no internal detail reaches the chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from domain.errors import DomainError
from handlers.i18n import t

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ErrorReplyMiddleware(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DomainError as exc:
            await _reply(event, t(exc.key, **exc.params))
        except TelegramAPIError:
            log.exception("Telegram refused a call while handling an update")
        except Exception:
            log.exception("Unexpected error while handling an update")
            await _reply(event, t("error-unexpected"))
        return None


async def _reply(event: TelegramObject, text: str) -> None:
    try:
        if isinstance(event, CallbackQuery):
            await event.answer(text[:200], show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
    except TelegramAPIError:
        log.warning("Could not tell the user about an error", exc_info=True)
