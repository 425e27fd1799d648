"""Cross-cutting work per update: who is calling, and in which language to answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18nMiddleware

from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.roles import SeenUser, touch_user
from handlers.i18n import choose_locale

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
MAX_LOGGED_FIELDS = 5


class UnknownUpdateMiddleware(BaseMiddleware):
    """An update of a type this aiogram does not know (a newer Bot API) is skipped with a
    log line of its id and field names. aiogram itself would print the whole update as a
    warning: message texts, names, phone numbers in the log."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            try:
                event.event_type  # noqa: B018 - raises for an unknown type
            except UpdateTypeLookupError:
                fields = sorted(event.model_extra or {})[:MAX_LOGGED_FIELDS]
                log.warning(
                    "Skipped update %s of a type this version does not handle (fields: %s)",
                    event.update_id,
                    ", ".join(name[:64] for name in fields) or "none",
                )
                return UNHANDLED
        return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Loads (and refreshes) the caller on every update, so a revoked role bites at once."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is not None and not tg_user.is_bot:
            data["user"] = await touch_user(
                self.uow_factory,
                SeenUser(
                    telegram_id=tg_user.id,
                    username=tg_user.username,
                    full_name=tg_user.full_name,
                    language=tg_user.language_code,
                ),
            )
        return await handler(event, data)


class LocaleMiddleware(I18nMiddleware):
    """Answers in the caller's Telegram language when we have it, Russian otherwise."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        tg_user: TgUser | None = data.get("event_from_user")
        code = tg_user.language_code if tg_user else None
        return choose_locale(code, self.i18n.available_locales)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled so a stopping bot can let them finish.

    aiogram handles each update as a task and does not wait for those tasks when
    polling stops (SIGINT/SIGTERM); ``drain`` does.
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, within: float) -> bool:
        """Wait until no update is in flight; ``False`` if ``within`` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True
