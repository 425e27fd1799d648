"""/mailings: browse page by page with a status filter, open a card, edit, preview,
schedule, duplicate and delete. One handler per button (``MailingAct``); sending is in
``mailing_launch``."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.mailings import MailingStatus
from domain.usecases import mailings, schedules
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_preview import show_preview
from handlers.mailings_kb import (
    MailingAct,
    MailingCD,
    browse_keyboard,
    card_keyboard,
    confirm_delete_keyboard,
    edit_menu_keyboard,
)
from handlers.mailings_text import browse_text, card_text
from handlers.replies import show_screen
from handlers.services import Services


async def send_browse(
    message: Message,
    user_id: int,
    services: Services,
    page: int = 0,
    status: str = "",
    edit: bool = False,
) -> None:
    found = await mailings.browse(
        services.uow_factory, user_id, page, MailingStatus(status) if status else None
    )
    authors = await mailings.authors(services.uow_factory, user_id, found.items)
    text, markup = browse_text(found, status), browse_keyboard(found, status, authors)
    await show_screen(message, text, markup, edit=edit)


async def send_card(
    message: Message,
    user_id: int,
    services: Services,
    mailing_id: int,
    note_key: str | None = None,
    edit: bool = False,
) -> None:
    info = await mailings.card(services.uow_factory, user_id, mailing_id)
    upcoming = None
    if info.mailing.status is MailingStatus.scheduled:
        upcoming = await schedules.next_launch(
            services.uow_factory, services.schedule_calculator, info.mailing
        )
    text = card_text(
        info.mailing,
        info.list_names,
        info.last_run,
        services.tz,
        upcoming,
        fast_rate=services.paid_broadcasts.rate,
        author=info.author,
    )
    if note_key:
        text = t(note_key) + "\n\n" + text
    markup = card_keyboard(info.mailing, launched=info.last_run is not None)
    await show_screen(message, text, markup, edit=edit)


async def check_rights(services: Services, user: User, cd: MailingCD) -> None:
    """Before a button is answered, so that a refusal comes as an alert."""
    if cd.mailing_id:
        await mailings.get(services.uow_factory, user.telegram_id, cd.mailing_id)


async def accept(query: CallbackQuery, services: Services, user: User, cd: MailingCD) -> None:
    """The caller's rights, then the press is answered: what follows may take a while."""
    await check_rights(services, user, cd)
    await query.answer()


async def mailings_command(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.clear()
    await send_browse(message, user.telegram_id, services)


# -- browsing and the card ------------------------------------------------------------------
async def on_browse(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    await state.clear()
    cd = callback_data
    await send_browse(message, user.telegram_id, services, cd.page, cd.status, edit=True)


async def on_open(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    await state.clear()
    await send_card(message, user.telegram_id, services, callback_data.mailing_id, edit=True)


async def on_card(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """The card below a progress message, which goes on showing the run to its summary."""
    await accept(query, services, user, callback_data)
    await state.clear()
    await send_card(message, user.telegram_id, services, callback_data.mailing_id)


async def on_duplicate(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    uid = user.telegram_id
    copy = await mailings.duplicate(
        services.uow_factory, uid, callback_data.mailing_id, t("mailings-copy-word")
    )
    assert copy.id is not None
    await send_card(message, uid, services, copy.id, note_key="mailings-duplicated")


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    info = await mailings.card(services.uow_factory, user.telegram_id, callback_data.mailing_id)
    mailings.ensure_editable(info.mailing)
    await message.answer(t("mailings-edit-what"), reply_markup=edit_menu_keyboard(info.mailing))


async def on_preview(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    await show_preview(message, user.telegram_id, services, callback_data.mailing_id)


async def on_save(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    """The preview's "save": the draft is stored already; show its card."""
    await accept(query, services, user, callback_data)
    mailing_id = callback_data.mailing_id
    await send_card(message, user.telegram_id, services, mailing_id, note_key="mailings-saved")


async def on_schedule(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    await schedules.schedule(
        services.uow_factory,
        services.schedule_calculator,
        schedules.Checks(services.renderer, services.available_channels),
        actor_id=user.telegram_id,
        mailing_id=callback_data.mailing_id,
        now=services.clock.now(),
    )
    mailing_id = callback_data.mailing_id
    await send_card(message, user.telegram_id, services, mailing_id, note_key="mailings-scheduled")


async def on_unschedule(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    uid, mailing_id = user.telegram_id, callback_data.mailing_id
    await schedules.unschedule(services.uow_factory, actor_id=uid, mailing_id=mailing_id)
    await send_card(message, uid, services, mailing_id, note_key="mailings-unscheduled")


async def on_delete(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    """Asks first; the mailing goes on "yes"."""
    await accept(query, services, user, callback_data)
    mailing_id = callback_data.mailing_id
    info = await mailings.card(services.uow_factory, user.telegram_id, mailing_id)
    await message.edit_text(
        t("mailings-confirm-delete", name=info.mailing.name),
        reply_markup=confirm_delete_keyboard(mailing_id),
    )


async def on_delete_yes(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await accept(query, services, user, callback_data)
    archived = await mailings.delete(
        services.uow_factory, user.telegram_id, callback_data.mailing_id, clock=services.clock
    )
    await message.edit_text(t("mailings-archived" if archived else "mailings-deleted"))
    await send_browse(message, user.telegram_id, services)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(mailings_command, Command("mailings"))
    button = router.callback_query.register
    button(on_browse, MailingCD.filter(F.action == MailingAct.browse))
    button(on_open, MailingCD.filter(F.action == MailingAct.open))
    button(on_card, MailingCD.filter(F.action == MailingAct.card))
    button(on_duplicate, MailingCD.filter(F.action == MailingAct.duplicate))
    button(on_edit, MailingCD.filter(F.action == MailingAct.edit))
    button(on_preview, MailingCD.filter(F.action == MailingAct.preview))
    button(on_save, MailingCD.filter(F.action == MailingAct.save))
    button(on_schedule, MailingCD.filter(F.action == MailingAct.schedule))
    button(on_unschedule, MailingCD.filter(F.action == MailingAct.unschedule))
    button(on_delete, MailingCD.filter(F.action == MailingAct.delete))
    button(on_delete_yes, MailingCD.filter(F.action == MailingAct.delete_yes))
    return router
