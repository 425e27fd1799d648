"""The schedule step: by hand (launch button), once at a time, or recurring.

Times are typed and shown in ``TIMEZONE`` and stored in UTC. A recurring schedule shows
its next three launches before the manager confirms it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.clock import SystemClock
from domain.errors import InvalidInput
from domain.mailings import Mailing, Schedule, ScheduleKind
from domain.ports import ScheduleCalculator
from domain.recurring_input import EXAMPLES, parse_recurring
from domain.schedule_input import parse_local_datetime, quick_choices
from domain.usecases import mailings
from handlers.i18n import t
from handlers.mailings_kb import DialogCD, Step, nav
from handlers.mailings_text import schedule_text
from handlers.states import MailingFlow

Deps = dict[str, Any]


def _fmt(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def remaining(moment: datetime, now: datetime) -> str:
    left = max(moment - now, timedelta(0))
    days, hours, minutes = left.days, left.seconds // 3600, left.seconds % 3600 // 60
    return t("schedule-remaining", days=days, hours=hours, minutes=minutes)


async def ask_schedule(message: Message, deps: Deps, mailing: Mailing) -> None:
    kb = InlineKeyboardBuilder()
    for action in ("manual", "once", "recurring"):
        kb.button(
            text=t(f"dialog-schedule-{action}"),
            callback_data=DialogCD(step=Step.schedule, action=action),
        )
    nav(kb, Step.schedule)
    kb.adjust(1, 1, 1, 2)
    current = schedule_text(mailing, deps["tz"])
    await message.answer(t("dialog-ask-schedule", current=current), reply_markup=kb.as_markup())


async def on_schedule_button(
    message: Message,
    state: FSMContext,
    uid: int,
    deps: Deps,
    mailing: Mailing,
    action: str,
    value: str,
) -> bool:
    """Handle a press; ``True`` when the step is answered and the dialog moves on."""
    tz: ZoneInfo = deps["tz"]
    now = SystemClock().now()
    if action == "manual":
        await _store(deps, uid, mailing, Schedule(timezone=deps["settings"].timezone))
        return True
    if action == "once":
        kb = InlineKeyboardBuilder()
        for index, (key, moment) in enumerate(quick_choices(tz, now)):
            kb.button(
                text=f"{t(key)} — {_fmt(moment, tz)}",
                callback_data=DialogCD(step=Step.schedule, action="quick", value=str(index)),
            )
        nav(kb, Step.schedule)
        kb.adjust(1, 1, 1, 2)
        await state.set_state(MailingFlow.schedule_at)
        await message.answer(
            t("dialog-ask-datetime", example=_fmt(now + timedelta(days=1), tz)),
            reply_markup=kb.as_markup(),
        )
    elif action == "quick" and value.isdigit():
        choices = quick_choices(tz, now)
        moment = choices[min(int(value), len(choices) - 1)][1]
        return await _store_once(message, deps, uid, mailing, moment)
    elif action == "recurring":
        kb = InlineKeyboardBuilder()
        for kind in ("daily", "weekly", "monthly", "cron"):
            kb.button(
                text=t(f"dialog-recurring-{kind}"),
                callback_data=DialogCD(step=Step.schedule, action="kind", value=kind),
            )
        nav(kb, Step.schedule)
        kb.adjust(2, 2, 2)
        await message.answer(t("dialog-ask-recurring"), reply_markup=kb.as_markup())
    elif action == "kind" and value in EXAMPLES:
        await state.set_state(MailingFlow.schedule_cron)
        await state.update_data(recurring_kind=value)
        await message.answer(t(f"dialog-ask-recurring-{value}", example=EXAMPLES[value]))
    elif action == "confirm":
        data = await state.get_data()
        if data.get("pending_cron"):
            await _store(deps, uid, mailing, _pending_schedule(data, deps["settings"].timezone))
            return True
    elif action in ("end_runs", "end_date"):
        await state.set_state(MailingFlow.schedule_end)
        await state.update_data(end_kind="runs" if action == "end_runs" else "date")
        await message.answer(t(f"dialog-ask-{action.replace('_', '-')}"))
    return False


async def _store(deps: Deps, uid: int, mailing: Mailing, schedule: Schedule) -> None:
    assert mailing.id is not None
    calculator: ScheduleCalculator = deps["schedule_calculator"]
    calculator.validate(schedule, SystemClock().now())
    await mailings.update(deps["uow_factory"], uid, mailing.id, schedule=schedule)


async def _store_once(
    message: Message, deps: Deps, uid: int, mailing: Mailing, moment: datetime
) -> bool:
    schedule = Schedule(ScheduleKind.once, run_at=moment, timezone=deps["settings"].timezone)
    await _store(deps, uid, mailing, schedule)
    now = SystemClock().now()
    await message.answer(
        t("dialog-schedule-once-set", when=_fmt(moment, deps["tz"]), left=remaining(moment, now))
    )
    return True


async def got_datetime(message: Message, deps: Deps, uid: int, mailing: Mailing) -> bool:
    moment = parse_local_datetime(message.text or "", deps["tz"], SystemClock().now())
    return await _store_once(message, deps, uid, mailing, moment)


async def got_recurring(message: Message, state: FSMContext, deps: Deps, mailing: Mailing) -> None:
    kind = (await state.get_data()).get("recurring_kind", "cron")
    cron = parse_recurring(kind, message.text or "")
    await state.update_data(pending_cron=cron, pending_ends=None, pending_runs=None)
    await show_recurring_check(message, state, deps)


def _pending_schedule(data: dict[str, Any], timezone: str) -> Schedule:
    ends = data.get("pending_ends")
    return Schedule(
        ScheduleKind.cron,
        cron=data.get("pending_cron"),
        timezone=timezone,
        ends_at=datetime.fromisoformat(ends) if ends else None,
        max_runs=data.get("pending_runs"),
    )


async def show_recurring_check(message: Message, state: FSMContext, deps: Deps) -> None:
    """The cron, its optional end, and the next three launches, before confirming."""
    schedule = _pending_schedule(await state.get_data(), deps["settings"].timezone)
    calculator: ScheduleCalculator = deps["schedule_calculator"]
    now = SystemClock().now()
    calculator.validate(schedule, now)
    upcoming = calculator.next_times(schedule, now, 3)
    await state.set_state(MailingFlow.schedule_cron)
    kb = InlineKeyboardBuilder()
    for action in ("confirm", "recurring", "end_runs", "end_date"):
        key = {"confirm": "dialog-confirm", "recurring": "dialog-change"}.get(
            action, f"dialog-{action.replace('_', '-')}"
        )
        kb.button(text=t(key), callback_data=DialogCD(step=Step.schedule, action=action))
    nav(kb, Step.schedule)
    kb.adjust(2, 2, 2)
    times = "\n".join(f"• {_fmt(m, deps['tz'])}" for m in upcoming)
    text = t("dialog-recurring-check", cron=schedule.cron or "", times=times)
    if schedule.max_runs:
        text += "\n" + t("dialog-ends-after", runs=schedule.max_runs)
    if schedule.ends_at:
        text += "\n" + t("dialog-ends-on", when=_fmt(schedule.ends_at, deps["tz"]))
    await message.answer(text, reply_markup=kb.as_markup())


async def got_schedule_end(message: Message, state: FSMContext, deps: Deps) -> None:
    """The optional end of a recurring schedule: a number of runs or a date."""
    data = await state.get_data()
    text = (message.text or "").strip()
    if data.get("end_kind") == "runs":
        if not text.isdigit() or not 1 <= int(text) <= 10_000:
            raise InvalidInput("dialog-end-runs-invalid")
        await state.update_data(pending_runs=int(text), pending_ends=None)
    else:
        moment = parse_local_datetime(text, deps["tz"], SystemClock().now())
        await state.update_data(pending_ends=moment.isoformat(), pending_runs=None)
    await show_recurring_check(message, state, deps)
