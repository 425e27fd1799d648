"""Sending from a card: launch, test, pause, resume and cancel. A launch or a test gets
one live progress message (``RunWatcher``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.errors import InvalidInput
from domain.recipients import AddressKind
from domain.runs import MailingRun
from domain.usecases import launch
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import current_language, t
from handlers.mailings import check_rights, send_card
from handlers.mailings_kb import MailingAct, MailingCD
from handlers.run_progress import Watch
from handlers.services import Services
from handlers.states import TestFlow


async def on_launch(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    """Starts sending; a live progress message follows the run."""
    await check_rights(services, user, callback_data)
    run = await launch.launch(
        services.uow_factory,
        services.delivery_queue,
        services.renderer,
        actor_id=user.telegram_id,
        mailing_id=callback_data.mailing_id,
        available=services.available_channels,
        clock=services.clock,
        paid=services.paid_broadcasts,
    )
    await query.answer(t("run-started"))
    await follow_run(message, services, callback_data.mailing_id, run)


async def on_test(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Sends to the caller (Telegram) or asks for an email address to send to."""
    await check_rights(services, user, callback_data)
    mailing_id = callback_data.mailing_id
    try:
        run = await launch.send_test(
            services.uow_factory,
            services.delivery_queue,
            services.renderer,
            actor_id=user.telegram_id,
            mailing_id=mailing_id,
            available=services.available_channels,
            clock=services.clock,
        )
    except InvalidInput as exc:
        if exc.key != "launch-test-needs-email":
            raise
        await query.answer()
        await state.set_state(TestFlow.email)
        await state.update_data(test_mailing_id=mailing_id)
        await message.answer(t("launch-ask-test-email"))
        return
    await query.answer(t("run-test-started"))
    await follow_run(message, services, mailing_id, run)


async def on_pause(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await _set_paused(query, message, callback_data, user, services, paused=True)


async def on_resume(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await _set_paused(query, message, callback_data, user, services, paused=False)


async def _set_paused(
    query: CallbackQuery,
    message: Message,
    cd: MailingCD,
    user: User,
    services: Services,
    *,
    paused: bool,
) -> None:
    await check_rights(services, user, cd)
    uid = user.telegram_id
    await launch.set_paused(
        services.uow_factory, actor_id=uid, mailing_id=cd.mailing_id, paused=paused
    )
    await query.answer(t("run-paused" if paused else "run-resumed"))
    await send_card(message, uid, services, cd.mailing_id)


async def on_cancel(
    query: CallbackQuery,
    message: Message,
    callback_data: MailingCD,
    user: User,
    services: Services,
) -> None:
    await check_rights(services, user, callback_data)
    uid, mailing_id = user.telegram_id, callback_data.mailing_id
    await launch.cancel(
        services.uow_factory, actor_id=uid, mailing_id=mailing_id, clock=services.clock
    )
    await query.answer(t("run-cancelled"))
    await send_card(message, uid, services, mailing_id)


async def follow_run(
    message: Message, services: Services, mailing_id: int, run: MailingRun
) -> None:
    """One progress message, edited by the watcher until the summary."""
    sent = await message.answer(t("run-starting"))
    assert run.id is not None
    services.run_watcher.watch(
        Watch(run.id, mailing_id, sent.chat.id, sent.message_id, current_language())
    )


async def got_test_email(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing_id = (await state.get_data()).get("test_mailing_id")
    kind, value = services.address_parser.parse(message.text or "")
    if kind is not AddressKind.email or mailing_id is None:
        await message.answer(t("launch-ask-test-email"))
        return
    await state.clear()
    run = await launch.send_test(
        services.uow_factory,
        services.delivery_queue,
        services.renderer,
        actor_id=user.telegram_id,
        mailing_id=mailing_id,
        available=services.available_channels,
        email=value,
        clock=services.clock,
    )
    await message.answer(t("run-test-started-to", address=value))
    await follow_run(message, services, mailing_id, run)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(got_test_email, TestFlow.email, F.text & ~F.text.startswith("/"))
    button = router.callback_query.register
    button(on_launch, MailingCD.filter(F.action == MailingAct.launch))
    button(on_test, MailingCD.filter(F.action == MailingAct.test))
    button(on_pause, MailingCD.filter(F.action == MailingAct.pause))
    button(on_resume, MailingCD.filter(F.action == MailingAct.resume))
    button(on_cancel, MailingCD.filter(F.action == MailingAct.cancel))
    return router
