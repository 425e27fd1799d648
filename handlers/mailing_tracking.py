"""Buttons and answers of the dialog's tracking step (``mailing_tracking_kb``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.tracking_plan import Switch
from domain.usecases import mailing_tracking
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_flow import advance, current_draft, press
from handlers.mailing_tracking_kb import ask_tracking, tracking_keyboard
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav_keyboard
from handlers.services import Services
from handlers.states import MailingFlow

SWITCHES = {switch.value: switch for switch in Switch}


async def on_switch(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    draft = await current_draft(query, message, state, user, services)
    switch = SWITCHES.get(callback_data.value)
    if draft is None or switch is None:
        return
    mailing = await mailing_tracking.switch(
        services.uow_factory, user.telegram_id, draft.id, switch
    )
    await message.edit_reply_markup(
        reply_markup=tracking_keyboard(mailing.options, services.tracking)
    )


async def on_utm_content(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        await state.set_state(MailingFlow.utm_content)
        await message.answer(t("dialog-ask-utm-content"), reply_markup=nav_keyboard(Step.tracking))


async def got_utm_content(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing_id = (await state.get_data())["mailing_id"]
    mailing = await mailing_tracking.set_utm_content(
        services.uow_factory, user.telegram_id, mailing_id, message.text or ""
    )
    await state.set_state(MailingFlow.tracking)
    await ask_tracking(message, services, mailing)


async def on_next(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        await advance(message, state, user.telegram_id, services, Step.tracking)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(got_utm_content, MailingFlow.utm_content, typed)
    button = router.callback_query.register
    button(on_switch, *press(Step.tracking, DialogAct.toggle))
    button(on_utm_content, *press(Step.tracking, DialogAct.utm_content))
    button(on_next, *press(Step.tracking, DialogAct.next))
    return router
