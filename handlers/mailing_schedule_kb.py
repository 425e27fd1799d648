"""The questions of the schedule step and their keyboards.

Times are typed and shown in ``TIMEZONE`` and stored in UTC. A recurring schedule shows
its next three launches before the manager confirms it; a chosen time or a confirmed
recurrence schedules the mailing at once (``schedules.set_schedule``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Mailing, Schedule, ScheduleKind
from domain.schedule_input import quick_choices
from handlers.i18n import Raw, t
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav
from handlers.mailings_text import recurrence_text, schedule_text
from handlers.services import Services
from handlers.states import MailingFlow


def fmt(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def remaining(moment: datetime, now: datetime) -> str:
    left = max(moment - now, timedelta(0))
    days, hours, minutes = left.days, left.seconds // 3600, left.seconds % 3600 // 60
    return t("schedule-remaining", days=days, hours=hours, minutes=minutes)


def _button(kb: InlineKeyboardBuilder, key: str, action: DialogAct, value: str = "") -> None:
    kb.button(text=t(key), callback_data=DialogCD(step=Step.schedule, action=action, value=value))


async def ask_schedule(message: Message, services: Services, mailing: Mailing) -> None:
    kb = InlineKeyboardBuilder()
    for action in (DialogAct.manual, DialogAct.once, DialogAct.recurring):
        _button(kb, f"dialog-schedule-{action.value}", action)
    nav(kb, Step.schedule)
    kb.adjust(1, 1, 1, 2)
    current = schedule_text(mailing, services.tz)
    await message.answer(t("dialog-ask-schedule", current=current), reply_markup=kb.as_markup())


def once_keyboard(tz: ZoneInfo, now: datetime) -> InlineKeyboardMarkup:
    """The offered times (tomorrow morning…); ``quick`` carries the choice's index."""
    kb = InlineKeyboardBuilder()
    for index, (key, moment) in enumerate(quick_choices(tz, now)):
        kb.button(
            text=f"{t(key)} — {fmt(moment, tz)}",
            callback_data=DialogCD(step=Step.schedule, action=DialogAct.quick, value=str(index)),
        )
    nav(kb, Step.schedule)
    kb.adjust(1, 1, 1, 2)
    return kb.as_markup()


def recurring_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind in ("daily", "weekly", "monthly", "cron"):
        _button(kb, f"dialog-recurring-{kind}", DialogAct.kind, kind)
    nav(kb, Step.schedule)
    kb.adjust(2, 2, 2)
    return kb.as_markup()


def pending_schedule(data: dict[str, Any], timezone: str) -> Schedule:
    """The recurring schedule being built in the dialog's data, not stored yet."""
    ends = data.get("pending_ends")
    return Schedule(
        ScheduleKind.cron,
        cron=data.get("pending_cron"),
        timezone=timezone,
        ends_at=datetime.fromisoformat(ends) if ends else None,
        max_runs=data.get("pending_runs"),
    )


async def show_recurring_check(message: Message, state: FSMContext, services: Services) -> None:
    """The recurrence in words with its optional end, and the next three launches, before
    confirming (which schedules it)."""
    schedule = pending_schedule(await state.get_data(), services.timezone)
    calculator, now, tz = services.schedule_calculator, services.clock.now(), services.tz
    calculator.validate(schedule, now)
    upcoming = calculator.next_times(schedule, now, 3)
    await state.set_state(MailingFlow.schedule_cron)
    kb = InlineKeyboardBuilder()
    _button(kb, "dialog-confirm", DialogAct.confirm)
    _button(kb, "dialog-change", DialogAct.recurring)
    _button(kb, "dialog-end-runs", DialogAct.end_runs)
    _button(kb, "dialog-end-date", DialogAct.end_date)
    nav(kb, Step.schedule)
    kb.adjust(2, 2, 2)
    times = "\n".join(f"• {fmt(m, tz)}" for m in upcoming)
    words = Raw(recurrence_text(schedule, tz))
    await message.answer(
        t("dialog-recurring-check", schedule=words, times=times), reply_markup=kb.as_markup()
    )
