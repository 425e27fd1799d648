"""Recipients pressing a copy's answer buttons (anyone may press: the use case checks
that the message is their delivered copy of that run), and the answers step of the
mailing dialog's Telegram options."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.answers import ANSWERS, SEPARATOR, answer_labels, clean_answers
from domain.usecases import answers, mailings
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_flow import current_draft, fast_rate, options_keyboard, press
from handlers.mailings_kb import DialogAct, Step, nav_keyboard
from handlers.services import Services
from handlers.states import MailingFlow


class AnswerCD(CallbackData, prefix="a"):
    """``domain.answers.callback_data``. Untrusted: checked against the run's copies."""

    run_id: int
    option: int


async def on_answer(query: CallbackQuery, callback_data: AnswerCD, services: Services) -> None:
    message = query.message
    if services.answers is None or message is None:
        await query.answer(t("answers-not-counted"))
        return
    result = await answers.press(
        services.uow_factory,
        services.answers,
        run_id=callback_data.run_id,
        option=callback_data.option,
        chat_id=message.chat.id,
        message_id=message.message_id,
        clock=services.clock,
    )
    if result is None:
        await query.answer(t("answers-not-counted"))
        return
    key = (
        "answers-again"
        if result.again
        else "answers-changed"
        if result.changed
        else "answers-thanks"
    )
    await query.answer(t(key, label=result.label))


async def on_option_answers(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    draft = await current_draft(query, message, state, user, services)
    if draft is not None:
        await state.set_state(MailingFlow.answers)
        now = f" {SEPARATOR} ".join(answer_labels(draft.mailing.options))
        await message.answer(
            t("dialog-ask-answers", now=now or "—"), reply_markup=nav_keyboard(Step.options)
        )


async def got_answers(message: Message, state: FSMContext, user: User, services: Services) -> None:
    labels = clean_answers(message.text or "")
    mailing_id = (await state.get_data())["mailing_id"]
    mailing = await mailings.get(services.uow_factory, user.telegram_id, mailing_id)
    mailing = await mailings.update(
        services.uow_factory,
        user.telegram_id,
        mailing_id,
        options={**mailing.options, ANSWERS: labels},
    )
    await state.set_state(MailingFlow.options)
    await message.answer(
        t("dialog-answers-saved", count=len(labels)),
        reply_markup=options_keyboard(mailing, fast_rate(services)),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_answer, AnswerCD.filter())
    router.callback_query.register(
        on_option_answers, IsStaff, ButtonMessage, *press(Step.options, DialogAct.answers)
    )
    router.message.register(
        got_answers, IsStaff, MailingFlow.answers, F.text & ~F.text.startswith("/")
    )
    return router
