"""Turns domain errors into a message in the caller's language.

Registered as an inner middleware, so it runs inside the i18n context. Anything
unexpected is logged with its traceback and the user gets a short apology instead
of silence; no internal detail reaches the chat.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n

from domain.errors import DomainError
from handlers.i18n import Raw, choose_locale, t, translate

log = logging.getLogger(__name__)
ALERT_LIMIT = 200  # Telegram's limit on callback answer text
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ErrorReplyMiddleware(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DomainError as exc:
            await _reply(event, error_text(exc))
        except TelegramAPIError:
            log.exception("Telegram refused a call while handling an update")
        except Exception:
            log.exception("Unexpected error while handling an update")
            await _reply(event, t("error-unexpected"))
        return None


class UpdateErrorMiddleware(BaseMiddleware):
    """The outer net: an error before the handlers (loading the caller, choosing the
    language) still gets the person an apology, in their language, instead of silence."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            log.exception("Unexpected error while handling an update")
            inner = event.message or event.callback_query if isinstance(event, Update) else None
            if inner is not None:
                user = data.get("event_from_user")
                code = user.language_code if user is not None else None
                locale = choose_locale(code, self.i18n.available_locales)
                await _reply(inner, translate(self.i18n, "error-unexpected", locale))
        return None


def error_text(exc: DomainError) -> str:
    """The error's message; a ``reason`` is a message key of its own (``launch-blocked``:
    the check that stopped the launch, with its figures among the parameters)."""
    params = dict(exc.params)
    reason = params.get("reason")
    if isinstance(reason, str):
        params["reason"] = Raw(t(reason, **params))
    return t(exc.key, **params)


async def _reply(event: TelegramObject, text: str) -> None:
    try:
        if isinstance(event, CallbackQuery):
            await _alert(event, text)
        elif isinstance(event, Message):
            await event.answer(text)
    except TelegramAPIError:
        log.warning("Could not tell the user about an error", exc_info=True)


async def _alert(query: CallbackQuery, text: str) -> None:
    """An alert if the button was not answered yet and the text fits, else a message.

    Long work (an import) answers the button first, so its errors must come as messages.
    """
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    if len(plain) <= ALERT_LIMIT:
        try:
            await query.answer(plain, show_alert=True)
            return
        except TelegramAPIError:
            pass  # already answered ("query is too old"): fall through to a message
    if isinstance(query.message, Message):
        await query.message.answer(text)
