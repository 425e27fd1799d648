"""Acting on a run's delivered Telegram copies from its card: "Delete from recipients'
chats" (asked first), followed by a live progress message like a launch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.content import CAPTION_LIMIT, TEXT_LIMIT
from domain.follow_ups import is_caption
from domain.personal import recipient_values
from domain.recipients import Address, AddressKind
from domain.runs import MailingRun
from domain.usecases import follow_ups, launch
from domain.usecases.follow_ups import EditOrder
from domain.users import User
from handlers.callbacks import FollowAct, FollowCD, StatsAct, StatsCD
from handlers.filters import ButtonMessage, IsStaff
from handlers.follow_ups_kb import url_keyboard
from handlers.i18n import t
from handlers.mailing_launch import follow_run
from handlers.media_send import send_content
from handlers.replies import show_screen
from handlers.services import Services
from handlers.states import FollowUpFlow


async def on_recall(
    query: CallbackQuery,
    message: Message,
    callback_data: FollowCD,
    user: User,
    services: Services,
) -> None:
    cd = callback_data
    run = await follow_ups.source_run(
        services.uow_factory, user.telegram_id, cd.mailing_id, cd.run_id
    )
    await query.answer()
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("followup-button-recall-yes"),
        callback_data=FollowCD(
            action=FollowAct.recall_yes, mailing_id=cd.mailing_id, run_id=cd.run_id
        ),
    )
    kb.button(
        text=t("followup-button-no"),
        callback_data=StatsCD(action=StatsAct.show, mailing_id=cd.mailing_id, run_id=cd.run_id),
    )
    kb.adjust(1)
    text = t("followup-recall-confirm", run=cd.run_id, count=run.totals.delivered)
    markup: InlineKeyboardMarkup = kb.as_markup()
    await show_screen(message, text, markup, edit=True)


async def on_recall_yes(
    query: CallbackQuery,
    message: Message,
    callback_data: FollowCD,
    user: User,
    services: Services,
) -> None:
    cd = callback_data
    if services.follow_ups is None:
        await query.answer(t("followup-telegram-only"), show_alert=True)
        return
    started = await follow_ups.recall(
        services.uow_factory,
        services.follow_ups,
        actor_id=user.telegram_id,
        mailing_id=cd.mailing_id,
        run_id=cd.run_id,
        clock=services.clock,
    )
    if started.pending:
        await query.answer(t("followup-recall-started", count=started.pending, kept=started.kept))
    else:  # every copy is past Telegram's 48 hours: nothing will be deleted
        await query.answer(t("followup-recall-too-old", count=started.kept), show_alert=True)
    run = await launch.run_state(services.uow_factory, started.run_id)
    if run is not None:
        await follow_run(message, services, cd.mailing_id, run)


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: FollowCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Ask for the new text, showing the one sent."""
    cd = callback_data
    run = await follow_ups.source_run(
        services.uow_factory, user.telegram_id, cd.mailing_id, cd.run_id, for_edit=True
    )
    await query.answer()
    await state.set_state(FollowUpFlow.text)
    await state.update_data(fu_mailing=cd.mailing_id, fu_run=cd.run_id)
    limit = CAPTION_LIMIT if is_caption(run) else TEXT_LIMIT
    await message.answer(
        t("followup-edit-ask", run=cd.run_id, count=run.totals.delivered, limit=limit)
    )
    body = str(run.content.get("body") or "")
    if body.strip():
        await message.answer(body)


async def got_text(message: Message, state: FSMContext, user: User, services: Services) -> None:
    """The new text: checked, then shown as the copies will read, then confirmed."""
    data = await state.get_data()
    order = _order(data, message.html_text if (message.text or message.caption) else "")
    if order is None:
        await state.clear()
        await message.answer(t("followup-edit-expired"))
        return
    source, rendered = await follow_ups.check_edit(
        services.uow_factory, services.renderer, user.telegram_id, order, _example(user)
    )
    await state.update_data(fu_body=order.body)
    buttons = source.content.get("options", {}).get("buttons")
    await _show(message, source, rendered, url_keyboard(buttons))
    kb = InlineKeyboardBuilder()
    actions = [FollowAct.edit_yes] + ([FollowAct.edit_bare] if buttons else [])
    for action in actions:
        key = (
            "followup-button-edit-yes"
            if action is FollowAct.edit_yes
            else "followup-button-edit-yes-bare"
        )
        kb.button(
            text=t(key),
            callback_data=FollowCD(
                action=action, mailing_id=order.mailing_id, run_id=order.run_id
            ),
        )
    kb.button(
        text=t("followup-button-no"),
        callback_data=StatsCD(
            action=StatsAct.show, mailing_id=order.mailing_id, run_id=order.run_id
        ),
    )
    kb.adjust(1)
    await message.answer(t("followup-edit-preview", run=order.run_id), reply_markup=kb.as_markup())


async def on_edit_yes(
    query: CallbackQuery,
    message: Message,
    callback_data: FollowCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    cd = callback_data
    data = await state.get_data()
    order = _order(data, str(data.get("fu_body") or ""))
    if order is None or (order.mailing_id, order.run_id) != (cd.mailing_id, cd.run_id):
        await query.answer(t("followup-edit-expired"), show_alert=True)
        return
    if services.follow_ups is None:
        await query.answer(t("followup-telegram-only"), show_alert=True)
        return
    order = replace(order, keep_buttons=cd.action is FollowAct.edit_yes)
    started = await follow_ups.edit(
        services.uow_factory,
        services.follow_ups,
        services.renderer,
        actor_id=user.telegram_id,
        order=order,
        example=_example(user),
        clock=services.clock,
    )
    await state.clear()
    await query.answer(t("followup-edit-started", count=started.pending))
    run = await launch.run_state(services.uow_factory, started.run_id)
    if run is not None:
        await follow_run(message, services, cd.mailing_id, run)


async def _show(
    message: Message, source: MailingRun, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """The new text as a copy will read: a caption under the run's media, or a text."""
    await send_content(message, source.content.get("media"), text, markup=markup, edited=True)


def _order(data: dict[str, Any], body: str) -> EditOrder | None:
    mailing_id, run_id = data.get("fu_mailing"), data.get("fu_run")
    if not isinstance(mailing_id, int) or not isinstance(run_id, int) or not body:
        return None
    return EditOrder(mailing_id, run_id, body)


def _example(user: User) -> dict[str, object]:
    """The manager's own values stand in for a recipient's in the preview."""
    attributes = {"name": user.full_name} if user.full_name else {}
    return recipient_values(Address(AddressKind.telegram, str(user.telegram_id), attributes))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(got_text, FollowUpFlow.text, ~F.text.startswith("/"))
    button = router.callback_query.register
    button(on_recall, FollowCD.filter(F.action == FollowAct.recall))
    button(on_recall_yes, FollowCD.filter(F.action == FollowAct.recall_yes))
    button(on_edit, FollowCD.filter(F.action == FollowAct.edit))
    button(on_edit_yes, FollowCD.filter(F.action.in_({FollowAct.edit_yes, FollowAct.edit_bare})))
    return router
