"""Telling people through the bot that their access changed (``AccessNotifier``)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommandScopeChat
from aiogram.utils.i18n import I18n

from domain.users import User
from handlers.i18n import choose_locale, translate
from handlers.menu import commands_for

log = logging.getLogger(__name__)


class TelegramAccessNotifier:
    def __init__(self, bot: Bot, i18n: I18n) -> None:
        self.bot = bot
        self.i18n = i18n

    async def access_changed(self, user: User) -> None:
        locale = choose_locale(user.language, self.i18n.available_locales)
        role = user.role if user.is_staff else None
        if role is None:
            text = translate(self.i18n, "notify-role-revoked", locale)
        else:
            role_name = translate(self.i18n, f"role-{role.value}", locale)
            text = translate(self.i18n, "notify-role-granted", locale, {"role": role_name})
        try:
            await self.bot.send_message(user.telegram_id, text)
        except TelegramAPIError as exc:
            log.info("Could not notify user %s of an access change: %s", user.telegram_id, exc)
        await set_user_menu(self.bot, self.i18n, user)


async def set_user_menu(bot: Bot, i18n: I18n, user: User) -> None:
    """A role's menu for staff; strangers fall back to the default (all private chats)."""
    scope = BotCommandScopeChat(chat_id=user.telegram_id)
    locale = choose_locale(user.language, i18n.available_locales)
    try:
        if user.is_staff:
            await bot.set_my_commands(commands_for(user.role, i18n, locale), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramAPIError as exc:
        # "chat not found": the person never opened the bot; their menu is set next start.
        log.info("Could not set the menu of user %s: %s", user.telegram_id, exc)
