"""The schedule step: by hand (launch button), once at a time, or recurring.

A chosen time or a confirmed recurrence schedules the mailing at once, after the
preview's blocking checks (``schedules.set_schedule``): no second press to forget.

One handler per button of the step (``DialogAct``) and per typed answer (a date, a
recurrence, its end). Registered under ``mailing_steps``'s router.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.errors import InvalidInput
from domain.mailings import Schedule, ScheduleKind
from domain.recurring_input import EXAMPLES, parse_recurring
from domain.schedule_input import parse_local_datetime, quick_choices
from domain.usecases import schedules
from domain.users import User
from handlers.i18n import Raw, t
from handlers.mailing_flow import Draft, advance, current_draft, dialog_mailing, press
from handlers.mailing_schedule_kb import (
    fmt,
    once_keyboard,
    pending_schedule,
    recurring_keyboard,
    remaining,
    show_recurring_check,
)
from handlers.mailings_kb import DialogAct, DialogCD, Step
from handlers.mailings_text import recurrence_text
from handlers.services import Services
from handlers.states import MailingFlow


def checks(services: Services) -> schedules.Checks:
    """What the preview's blocking checks need, as for a launch."""
    return schedules.Checks(services.renderer, services.available_channels)


async def _apply(
    message: Message, services: Services, uid: int, draft: Draft, schedule: Schedule
) -> None:
    """Store the schedule and, for a time or a recurrence, schedule the mailing at once;
    say when it fires, or which check keeps it a draft."""
    tz, now = services.tz, services.clock.now()
    done = await schedules.set_schedule(
        services.uow_factory,
        services.schedule_calculator,
        checks(services),
        actor_id=uid,
        mailing_id=draft.id,
        schedule=schedule,
        now=now,
    )
    if done.stopped_by is not None:
        problem = done.stopped_by
        reason = Raw(t(problem.key, **problem.params))
        await message.answer(t("dialog-schedule-blocked", reason=reason))
    elif done.scheduled and done.next_launch is not None:
        at, left = fmt(done.next_launch, tz), remaining(done.next_launch, now)
        if schedule.is_recurring:
            words = Raw(recurrence_text(schedule, tz))
            text = t("dialog-schedule-recurring-set", schedule=words, when=at, left=left)
        else:
            text = t("dialog-schedule-once-set", when=at, left=left)
        await message.answer(text)


# -- buttons ------------------------------------------------------------------------------
async def on_manual(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    """No schedule: the mailing waits for its Launch button."""
    if draft := await current_draft(query, message, state, user, services):
        schedule = Schedule(timezone=services.timezone)
        await _apply(message, services, user.telegram_id, draft, schedule)
        await advance(message, state, user.telegram_id, services, Step.schedule)


async def on_once(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        tz, now = services.tz, services.clock.now()
        await state.set_state(MailingFlow.schedule_at)
        await message.answer(
            t("dialog-ask-datetime", example=fmt(now + timedelta(days=1), tz)),
            reply_markup=once_keyboard(tz, now),
        )


async def on_quick(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """One of the offered times; they are computed again, so "tomorrow" stays tomorrow."""
    draft = await current_draft(query, message, state, user, services)
    if draft and callback_data.value.isdigit():
        choices = quick_choices(services.tz, services.clock.now())
        moment = choices[min(int(callback_data.value), len(choices) - 1)][1]
        once = Schedule(ScheduleKind.once, run_at=moment, timezone=services.timezone)
        await _apply(message, services, user.telegram_id, draft, once)
        await advance(message, state, user.telegram_id, services, Step.schedule)


async def on_recurring(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        await message.answer(t("dialog-ask-recurring"), reply_markup=recurring_keyboard())


async def on_kind(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    kind = callback_data.value
    if await current_draft(query, message, state, user, services) and kind in EXAMPLES:
        await state.set_state(MailingFlow.schedule_cron)
        await state.update_data(recurring_kind=kind)
        await message.answer(t(f"dialog-ask-recurring-{kind}", example=EXAMPLES[kind]))


async def on_confirm(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    draft = await current_draft(query, message, state, user, services)
    data = await state.get_data()
    if draft and data.get("pending_cron"):
        schedule = pending_schedule(data, services.timezone)
        await _apply(message, services, user.telegram_id, draft, schedule)
        await advance(message, state, user.telegram_id, services, Step.schedule)


async def on_end(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """A recurring schedule ends after a number of runs or on a date."""
    if await current_draft(query, message, state, user, services):
        runs = callback_data.action is DialogAct.end_runs
        await state.set_state(MailingFlow.schedule_end)
        await state.update_data(end_kind="runs" if runs else "date")
        await message.answer(t("dialog-ask-end-runs" if runs else "dialog-ask-end-date"))


# -- typed answers ------------------------------------------------------------------------
async def got_datetime(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    draft = await current_draft_or_leave(state, user, services)
    if draft is None:
        return
    moment = parse_local_datetime(message.text or "", services.tz, services.clock.now())
    once = Schedule(ScheduleKind.once, run_at=moment, timezone=services.timezone)
    await _apply(message, services, user.telegram_id, draft, once)
    await advance(message, state, user.telegram_id, services, Step.schedule)


async def got_recurring(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft_or_leave(state, user, services) is None:
        return
    kind = (await state.get_data()).get("recurring_kind", "cron")
    cron = parse_recurring(kind, message.text or "")
    await state.update_data(pending_cron=cron, pending_ends=None, pending_runs=None)
    await show_recurring_check(message, state, services)


async def got_schedule_end(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    """The optional end of a recurring schedule: a number of runs or a date."""
    if await current_draft_or_leave(state, user, services) is None:
        return
    data = await state.get_data()
    text = (message.text or "").strip()
    if data.get("end_kind") == "runs":
        if not text.isdigit() or not 1 <= int(text) <= 10_000:
            raise InvalidInput("dialog-end-runs-invalid")
        await state.update_data(pending_runs=int(text), pending_ends=None)
    else:
        moment = parse_local_datetime(text, services.tz, services.clock.now())
        await state.update_data(pending_ends=moment.isoformat(), pending_runs=None)
    await show_recurring_check(message, state, services)


async def current_draft_or_leave(
    state: FSMContext, user: User, services: Services
) -> Draft | None:
    """A typed answer without a draft (it was deleted) quietly ends the dialog."""
    mailing = await dialog_mailing(state, user.telegram_id, services)
    if mailing is None or mailing.id is None:
        await state.clear()
        return None
    return Draft(mailing.id, mailing)


def create_router() -> Router:
    """Registered inside ``mailing_steps``'s router, so its role filter applies."""
    router = Router(name=__name__)
    button = router.callback_query.register
    button(on_manual, *press(Step.schedule, DialogAct.manual))
    button(on_once, *press(Step.schedule, DialogAct.once))
    button(on_quick, *press(Step.schedule, DialogAct.quick))
    button(on_recurring, *press(Step.schedule, DialogAct.recurring))
    button(on_kind, *press(Step.schedule, DialogAct.kind))
    button(on_confirm, *press(Step.schedule, DialogAct.confirm))
    button(on_end, *press(Step.schedule, DialogAct.end_runs, DialogAct.end_date))
    typed = F.text & ~F.text.startswith("/")
    router.message.register(got_datetime, MailingFlow.schedule_at, typed)
    router.message.register(got_recurring, MailingFlow.schedule_cron, typed)
    router.message.register(got_schedule_end, MailingFlow.schedule_end, typed)
    return router
