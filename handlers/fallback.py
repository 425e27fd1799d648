"""Registered last: whatever no other handler took.

Staff get help for their role (or a note that a command is for admins); anyone else
gets a polite refusal that shows their Telegram id and nothing more. Buttons that no
handler accepted (stale, forged or not the caller's) get an alert and change nothing.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from domain.usecases import subscribers
from domain.users import User
from handlers.common import help_text
from handlers.i18n import t
from handlers.menu import ADMIN_ONLY
from handlers.services import Services


def _command(message: Message) -> str | None:
    text = message.text or ""
    if not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""


async def anything(message: Message, services: Services, user: User | None = None) -> None:
    if user is None or not user.is_staff:
        caller_id = message.from_user.id if message.from_user else message.chat.id
        # a subscriber is not told to press /start again: they did
        subscribed = await subscribers.is_subscribed(services.uow_factory, message.chat.id)
        key = "stranger-subscribed" if subscribed else "stranger-refusal"
        await message.answer(t(key, user_id=caller_id))
        return
    command = _command(message)
    if command in ADMIN_ONLY:
        await message.answer(t("error-admins-only"))
    elif command is not None:
        await message.answer(t("unknown-command") + "\n\n" + help_text(user))
    else:
        await message.answer(help_text(user))


async def stale_button(query: CallbackQuery, user: User | None = None) -> None:
    if user is None or not user.is_staff:
        await query.answer(
            t("stranger-refusal-short", user_id=query.from_user.id), show_alert=True
        )
        return
    await query.answer(t("error-stale-button"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(anything)
    router.callback_query.register(stale_button)
    return router
