"""The A/B test screen of the lists step: variants of the subject, the text or both
typed one at a time, the sample's share, the waiting time and the metric, each checked
where it is typed (``domain.usecases.ab_tests``); and the winner picked by hand from a
run's statistics card before the waiting time is up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.ab_test import Part
from domain.mailings import Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases import ab_tests, mailings, segments
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_ab_kb import ABCD, ABAct, WinnerCD, ab_keyboard, ab_text, decision_text
from handlers.mailing_lists import lists_screen
from handlers.mailing_segment import Handler, OnSegment, answered
from handlers.services import Services
from handlers.states import MailingFlow

PARTS = {part.value: part for part in Part}


async def screen(
    message: Message, user_id: int, services: Services, mailing: Mailing, *, edit: bool = False
) -> None:
    assert mailing.id is not None
    test = ab_tests.test_of(mailing)
    sample = await ab_tests.sample_size(services.uow_factory, user_id, mailing.id) if test else 0
    reachable = (await segments.reachable(services.uow_factory, user_id, mailing.id)).reachable
    text = ab_text(mailing, test, sample, reachable)
    markup = ab_keyboard(mailing, test)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def _draft(state: FSMContext, user: User, services: Services) -> Mailing:
    mailing_id = (await state.get_data())["mailing_id"]
    return await mailings.get(services.uow_factory, user.telegram_id, mailing_id)


async def on_open(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.set_state(MailingFlow.ab)
    await screen(message, user.telegram_id, services, await _draft(state, user, services))


async def on_add(
    query: CallbackQuery,
    message: Message,
    callback_data: ABCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    part = PARTS.get(callback_data.value)
    if part is None:
        await message.answer(t("error-stale-button"))
        return
    await state.update_data(ab_part=part.value)
    await state.set_state(MailingFlow.ab_variant)
    await message.answer(t(f"ab-ask-{part.value}"))


async def got_variant(message: Message, state: FSMContext, user: User, services: Services) -> None:
    data = await state.get_data()
    text = message.html_text if message.text else ""
    if data.get("ab_part") == Part.subject.value:
        text = message.text or ""
    mailing = await ab_tests.add_variant(
        services.uow_factory,
        services.renderer,
        user.telegram_id,
        data["mailing_id"],
        PARTS[data.get("ab_part", Part.text.value)],
        text,
    )
    await state.set_state(MailingFlow.ab)
    await screen(message, user.telegram_id, services, mailing)


async def on_drop(
    query: CallbackQuery,
    message: Message,
    callback_data: ABCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    index = int(callback_data.value) if callback_data.value.isdigit() else 0
    mailing_id = (await state.get_data())["mailing_id"]
    mailing = await ab_tests.remove_variant(
        services.uow_factory, user.telegram_id, mailing_id, index
    )
    await screen(message, user.telegram_id, services, mailing, edit=True)


async def on_ask(
    query: CallbackQuery,
    message: Message,
    callback_data: ABCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    sample = callback_data.action is ABAct.sample
    await state.set_state(MailingFlow.ab_sample if sample else MailingFlow.ab_wait)
    await message.answer(t("ab-ask-sample" if sample else "ab-ask-wait"))


def typed(setter: Callable[[UnitOfWorkFactory, int, int, str], Awaitable[Mailing]]) -> Handler:
    """A typed answer (the sample's share, the waiting time), checked by ``setter``; a
    refusal is told and the question stays."""

    async def handle(message: Message, state: FSMContext, user: User, services: Services) -> None:
        mailing_id = (await state.get_data())["mailing_id"]
        uid = user.telegram_id
        mailing = await setter(services.uow_factory, uid, mailing_id, message.text or "")
        await state.set_state(MailingFlow.ab)
        await screen(message, uid, services, mailing)

    return handle


def pressed(change: Callable[[UnitOfWorkFactory, int, int], Awaitable[Mailing]]) -> Handler:
    """A button that changes the test (the next metric, no test) and shows it again."""

    async def handle(
        query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
    ) -> None:
        mailing_id = (await state.get_data())["mailing_id"]
        mailing = await change(services.uow_factory, user.telegram_id, mailing_id)
        await screen(message, user.telegram_id, services, mailing, edit=True)

    return handle


async def on_done(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(state, user, services)
    await state.set_state(MailingFlow.lists)
    text, markup = await lists_screen(user.telegram_id, services, mailing)
    await message.answer(text, reply_markup=markup)


async def on_winner(
    query: CallbackQuery,
    message: Message,
    callback_data: WinnerCD,
    user: User,
    services: Services,
) -> None:
    """A run's card: this variant goes to the rest now."""
    if services.ab_tests is None:
        await query.answer(t("error-stale-button"))
        return
    decided = await ab_tests.pick_winner(
        services.uow_factory,
        services.ab_tests,
        actor_id=user.telegram_id,
        run_id=callback_data.run_id,
        variant=callback_data.variant,
        clock=services.clock,
    )
    await query.answer()
    text = decision_text(decided.mailing_name, decided.decision, decided.released)
    await message.answer(text)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    text = F.text & ~F.text.startswith("/")
    router.message.register(got_variant, MailingFlow.ab_variant, text)
    router.message.register(typed(ab_tests.set_sample), MailingFlow.ab_sample, text)
    router.message.register(typed(ab_tests.set_wait), MailingFlow.ab_wait, text)
    handlers: dict[ABAct, Handler] = {
        ABAct.open: on_open,
        ABAct.add: on_add,
        ABAct.drop: on_drop,
        ABAct.sample: on_ask,
        ABAct.wait: on_ask,
        ABAct.metric: pressed(ab_tests.next_metric),
        ABAct.remove: pressed(ab_tests.remove),
        ABAct.done: on_done,
    }
    for action, handler in handlers.items():
        router.callback_query.register(
            answered(handler), ABCD.filter(F.action == action), OnSegment()
        )
    router.callback_query.register(on_winner, WinnerCD.filter())
    return router
