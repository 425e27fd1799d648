"""The order of the mailing dialog and moving between its steps.

Create mode walks every step that applies to the channel; edit mode opens one step and
returns to the card. Every step writes to the draft at once, so a restart or a Cancel
never loses what the manager typed.
"""

from __future__ import annotations

from typing import NamedTuple

from aiogram import F
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.answers import answer_labels
from domain.follow_ups import AUTODELETE, PIN, autodelete_hours
from domain.mailings import Channel, Mailing
from domain.media import EXACT_COPY, POST, is_copy
from domain.paid import FREE_RATE
from domain.tracking_plan import TRACKED_CHANNELS
from domain.usecases import mailings
from domain.users import User
from handlers.i18n import t
from handlers.mailing_lists import ask_lists
from handlers.mailing_preview import show_preview
from handlers.mailing_schedule_kb import ask_schedule
from handlers.mailing_tracking_kb import ask_tracking
from handlers.mailings import send_card
from handlers.mailings_kb import DialogAct, DialogCD, Step, channel_keyboard, nav, nav_keyboard
from handlers.services import Services
from handlers.states import MailingFlow

ORDER = [
    Step.name,
    Step.channel,
    Step.subject,
    Step.content,
    Step.options,
    Step.tracking,
    Step.lists,
    Step.schedule,
    Step.preview,
]
STATES = {
    Step.name: MailingFlow.name,
    Step.channel: MailingFlow.channel,
    Step.subject: MailingFlow.subject,
    Step.content: MailingFlow.content,
    Step.options: MailingFlow.options,
    Step.tracking: MailingFlow.tracking,
    Step.lists: MailingFlow.lists,
    Step.schedule: MailingFlow.schedule,
    Step.preview: MailingFlow.preview,
}
# Sub-states that belong to a step: its buttons stay valid while the manager types.
SUBSTATES = {
    Step.options: (MailingFlow.buttons, MailingFlow.answers),
    Step.tracking: (MailingFlow.utm_content,),
    Step.lists: (
        MailingFlow.segment,
        MailingFlow.segment_value,
        MailingFlow.segment_name,
        MailingFlow.local_at,
        MailingFlow.local_zone,
        MailingFlow.local_quiet,
        MailingFlow.ab,
        MailingFlow.ab_variant,
        MailingFlow.ab_sample,
        MailingFlow.ab_wait,
    ),
    Step.schedule: (MailingFlow.schedule_at, MailingFlow.schedule_cron, MailingFlow.schedule_end),
}


def step_states(step: Step) -> set[str | None]:
    return {s.state for s in (STATES[step], *SUBSTATES.get(step, ()))}


class AtStep(Filter):
    """Passes a press that belongs to the step the dialog is at. Any other (a button of an
    earlier question, or of a dialog that ended) falls through to ``fallback``: outdated."""

    async def __call__(
        self, query: CallbackQuery, callback_data: DialogCD, raw_state: str | None = None
    ) -> bool:
        return raw_state in step_states(callback_data.step)


def press(step: Step, *actions: DialogAct) -> tuple[CallbackQueryFilter, AtStep]:
    """Filters of a step's button: its callback data, pressed at that step."""
    return DialogCD.filter((F.step == step) & F.action.in_(actions)), AtStep()


def applies(step: Step, mailing: Mailing | None) -> bool:
    if mailing is None:
        return step is Step.name
    if step is Step.subject:
        return mailings.needs_subject(mailing.channel)
    if step is Step.options:
        return mailing.channel is Channel.telegram
    if step is Step.tracking:
        return mailing.channel in TRACKED_CHANNELS
    return True


def following(step: Step, mailing: Mailing | None) -> Step:
    index = ORDER.index(step)
    for candidate in ORDER[index + 1 :]:
        if applies(candidate, mailing):
            return candidate
    return Step.preview


def previous(step: Step, mailing: Mailing | None) -> Step | None:
    index = ORDER.index(step)
    for candidate in reversed(ORDER[:index]):
        if applies(candidate, mailing):
            return candidate
    return None


async def dialog_mailing(state: FSMContext, user_id: int, services: Services) -> Mailing | None:
    """The draft this dialog edits (re-checked: the caller may have lost the right)."""
    mailing_id = (await state.get_data()).get("mailing_id")
    if mailing_id is None:
        return None
    return await mailings.get(services.uow_factory, user_id, mailing_id)


class Draft(NamedTuple):
    id: int
    mailing: Mailing


async def current_draft(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> Draft | None:
    """Answers a step's button and gives the draft it acts on; without one the button is
    outdated."""
    await query.answer()
    mailing = await dialog_mailing(state, user.telegram_id, services)
    if mailing is None or mailing.id is None:
        await message.answer(t("error-stale-button"))
        return None
    return Draft(mailing.id, mailing)


async def show(
    step: Step, message: Message, state: FSMContext, user_id: int, services: Services
) -> None:
    """Ask the question of ``step`` (and remember that we are there)."""
    await state.set_state(STATES[step])
    mailing = await dialog_mailing(state, user_id, services)
    first = mailing is None or (await state.get_data()).get("mode") == "edit"
    if step is Step.name:
        current = f"\n\n{t('dialog-current', value=mailing.name)}" if mailing else ""
        await message.answer(
            t("dialog-ask-name") + current, reply_markup=nav_keyboard(step, False)
        )
    elif step is Step.channel:
        markup = channel_keyboard(services.available_channels)
        await message.answer(t("dialog-ask-channel"), reply_markup=markup)
    elif step is Step.subject:
        await message.answer(t("dialog-ask-subject"), reply_markup=nav_keyboard(step, not first))
    elif step is Step.content:
        await message.answer(t("dialog-ask-content"), reply_markup=content_keyboard())
    elif step is Step.options and mailing is not None:
        markup = options_keyboard(mailing, fast_rate(services))
        await message.answer(t("dialog-ask-options"), reply_markup=markup)
    elif step is Step.tracking and mailing is not None:
        await ask_tracking(message, services, mailing)
    elif step is Step.lists and mailing is not None:
        await ask_lists(message, user_id, services, mailing)
    elif step is Step.schedule and mailing is not None:
        await ask_schedule(message, services, mailing)
    elif step is Step.preview and mailing is not None and mailing.id is not None:
        await state.clear()
        await show_preview(message, user_id, services, mailing.id)


async def advance(
    message: Message, state: FSMContext, user_id: int, services: Services, done: Step
) -> None:
    """After ``done`` was answered: the next step, or back to the card in edit mode."""
    mailing = await dialog_mailing(state, user_id, services)
    if (await state.get_data()).get("mode") == "edit" and mailing and mailing.id:
        await state.clear()
        await send_card(message, user_id, services, mailing.id, note_key="mailings-saved")
        return
    await show(following(done, mailing), message, state, user_id, services)


def content_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("dialog-from-template"),
        callback_data=DialogCD(step=Step.content, action=DialogAct.templates),
    )
    nav(kb, Step.content)
    kb.adjust(1, 2)
    return kb.as_markup()


def fast_rate(services: Services) -> float | None:
    """TELEGRAM_RATE when a mailing may be sent fast (paid broadcasts), else None."""
    rate = services.paid_broadcasts.rate
    return rate if rate > FREE_RATE else None


def options_keyboard(mailing: Mailing, fast: float | None) -> InlineKeyboardMarkup:
    """The Telegram options; with ``fast`` (the paid rate) also fast or free."""
    options = mailing.options
    kb = InlineKeyboardBuilder()
    toggles = (("link_preview", True), ("silent", False), ("protect", False), (PIN, False))
    for name, default in toggles:
        on = bool(options.get(name, default))
        kb.button(
            text=t(f"dialog-option-{name}", state=t("on" if on else "off")),
            callback_data=DialogCD(step=Step.options, action=DialogAct.toggle, value=name),
        )
    hours = autodelete_hours(options)
    kb.button(
        text=t("dialog-option-autodelete", state=t("dialog-autodelete-hours", hours=hours))
        if hours
        else t("dialog-option-autodelete", state=t("off")),
        callback_data=DialogCD(step=Step.options, action=DialogAct.toggle, value=AUTODELETE),
    )
    if fast is not None:
        kb.button(
            text=t("dialog-option-fast", state=t("on" if mailing.fast else "off")),
            callback_data=DialogCD(step=Step.options, action=DialogAct.fast),
        )
    if options.get(POST):  # the content came from a message: it can be copied exactly
        kb.button(
            text=t("dialog-option-exact-copy", state=t("on" if is_copy(mailing.media) else "off")),
            callback_data=DialogCD(step=Step.options, action=DialogAct.toggle, value=EXACT_COPY),
        )
    rows = options.get("buttons") or []
    kb.button(
        text=t("dialog-option-buttons", count=sum(len(r) for r in rows)),
        callback_data=DialogCD(step=Step.options, action=DialogAct.buttons),
    )
    kb.button(
        text=t("dialog-option-answers", count=len(answer_labels(options))),
        callback_data=DialogCD(step=Step.options, action=DialogAct.answers),
    )
    kb.button(
        text=t("dialog-next"), callback_data=DialogCD(step=Step.options, action=DialogAct.next)
    )
    nav(kb, Step.options)
    kb.adjust(*([1] * (8 + (fast is not None) + bool(options.get(POST)))), 2)
    return kb.as_markup()
