"""Commands every member of staff has: /start, /help, /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from domain.users import Role, User
from handlers.filters import IsStaff
from handlers.i18n import t
from handlers.mailing_cancel import cancel_new_mailing
from handlers.services import Services


def help_text(user: User) -> str:
    key = "help-admin" if user.role is Role.admin else "help-manager"
    return t(key, name=user.full_name or user.display_name)


async def start(message: Message, user: User) -> None:
    """Staff are not subscribed to mailings by /start (a test send shows them a mailing)."""
    await message.answer(help_text(user) + "\n\n" + t("help-staff-not-subscribed"))


async def start_or_help(message: Message, user: User) -> None:
    await message.answer(help_text(user))


async def cancel(message: Message, state: FSMContext, user: User, services: Services) -> None:
    if await cancel_new_mailing(message, state, user, services):
        return
    had_state = await state.get_state() is not None
    await state.clear()
    await message.answer(t("cancelled" if had_state else "nothing-to-cancel"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.message.register(start, CommandStart())
    router.message.register(start_or_help, Command("help"))
    router.message.register(cancel, Command("cancel"))
    router.message.register(cancel, F.text.casefold().in_({"cancel", "отмена"}))
    return router
