"""Acting on a run's delivered Telegram copies from its card: "Delete from recipients'
chats" (asked first), followed by a live progress message like a launch."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.usecases import follow_ups, launch
from domain.users import User
from handlers.callbacks import FollowAct, FollowCD, StatsAct, StatsCD
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_launch import follow_run
from handlers.replies import show_screen
from handlers.services import Services


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
    await query.answer(t("followup-recall-started", count=started.pending, kept=started.kept))
    run = await launch.run_state(services.uow_factory, started.run_id)
    if run is not None:
        await follow_run(message, services, cd.mailing_id, run)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    button = router.callback_query.register
    button(on_recall, FollowCD.filter(F.action == FollowAct.recall))
    button(on_recall_yes, FollowCD.filter(F.action == FollowAct.recall_yes))
    return router
