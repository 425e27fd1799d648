"""/cancel in a new mailing's dialog: the draft made so far is kept or deleted, as the
manager answers (the dialog's own Cancel button keeps it, and says so)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.usecases import mailings
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.services import Services


class DraftCD(CallbackData, prefix="dk"):
    """Keep (``keep=True``) or delete the draft of a dialog left with /cancel."""

    mailing_id: int
    keep: bool = False


async def cancel_new_mailing(
    message: Message, state: FSMContext, user: User, services: Services
) -> bool:
    """``True`` when the dialog being left created a mailing: the question is asked."""
    data = await state.get_data()
    mailing_id = data.get("mailing_id")
    if data.get("mode") != "create" or mailing_id is None:
        return False
    await state.clear()
    mailing = await mailings.get(services.uow_factory, user.telegram_id, mailing_id)
    kb = InlineKeyboardBuilder()
    kb.button(text=t("dialog-keep-draft"), callback_data=DraftCD(mailing_id=mailing_id, keep=True))
    kb.button(text=t("dialog-drop-draft"), callback_data=DraftCD(mailing_id=mailing_id))
    await message.answer(
        t("dialog-ask-keep-draft", name=mailing.name), reply_markup=kb.as_markup()
    )
    return True


async def on_answer(
    query: CallbackQuery,
    message: Message,
    callback_data: DraftCD,
    user: User,
    services: Services,
) -> None:
    uid, mailing_id = user.telegram_id, callback_data.mailing_id
    if callback_data.keep:
        await mailings.get(services.uow_factory, uid, mailing_id)  # still there, and theirs
        await query.answer()
        await message.edit_text(t("dialog-cancelled-draft-kept"))
        return
    mailing = await mailings.get(services.uow_factory, uid, mailing_id)
    mailings.ensure_editable(mailing)  # a draft; one scheduled since is not thrown away here
    await mailings.delete(services.uow_factory, uid, mailing_id, clock=services.clock)
    await query.answer()
    await message.edit_text(t("dialog-draft-deleted", name=mailing.name))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.callback_query.register(on_answer, DraftCD.filter())
    return router
