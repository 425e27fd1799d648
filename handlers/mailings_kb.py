"""Callback data and keyboards of the mailing screens and the create/edit dialog."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Channel, Mailing, MailingStatus, ScheduleKind
from domain.pagination import Page
from handlers.callbacks import StatsAct, StatsCD
from handlers.i18n import t

STATUS_ICONS = {
    MailingStatus.draft: "📝",
    MailingStatus.scheduled: "🕐",
    MailingStatus.running: "🚀",
    MailingStatus.paused: "⏸",
    MailingStatus.completed: "✅",
    MailingStatus.cancelled: "🚫",
    MailingStatus.failed: "❌",
}


class Go(StrEnum):
    """Card and browsing actions."""

    browse = "browse"
    open = "open"
    edit = "edit"
    duplicate = "dup"
    delete = "del"
    delete_yes = "del_yes"
    launch = "launch"
    test = "test"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    preview = "preview"
    save = "save"
    schedule = "sched"
    unschedule = "unsched"


class MailingCD(CallbackData, prefix="m"):
    go: Go
    mailing_id: int = 0
    page: int = 0
    status: str = ""  # browse filter


class Step(StrEnum):
    """Dialog steps, also the "edit one field" entries of a card."""

    name = "name"
    channel = "channel"
    subject = "subject"
    content = "content"
    options = "options"
    lists = "lists"
    schedule = "schedule"
    preview = "preview"


class DialogCD(CallbackData, prefix="md"):
    """A press inside the dialog: ``action`` within ``step`` with an optional value."""

    step: Step
    action: str
    value: str = ""


def nav(kb: InlineKeyboardBuilder, step: Step, back: bool = True) -> None:
    """Back (one step) and Cancel (leave the dialog; the draft stays) buttons."""
    if back:
        kb.button(text=t("button-back"), callback_data=DialogCD(step=step, action="back"))
    kb.button(text=t("button-cancel"), callback_data=DialogCD(step=step, action="cancel"))


def nav_keyboard(step: Step, back: bool = True) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    nav(kb, step, back)
    return kb.as_markup()


def channel_keyboard(available: frozenset[Channel]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for channel in Channel:
        label = t(f"channel-{channel.value}")
        if channel not in available:
            label += " " + t("channel-unavailable-mark")
        kb.button(
            text=label,
            callback_data=DialogCD(step=Step.channel, action="pick", value=channel.value),
        )
    nav(kb, Step.channel)
    kb.adjust(2, 2, 2)
    return kb.as_markup()


def browse_keyboard(page: Page[Mailing], status: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for m in page.items:
        assert m.id is not None
        icon = "🗄" if m.archived_at else STATUS_ICONS[m.status]
        kb.button(
            text=f"{icon} {m.name}"[:60], callback_data=MailingCD(go=Go.open, mailing_id=m.id)
        )
    nav_row = 0
    if page.has_prev:
        kb.button(
            text="◀️", callback_data=MailingCD(go=Go.browse, page=page.page - 1, status=status)
        )
        nav_row += 1
    if page.has_next:
        kb.button(
            text="▶️", callback_data=MailingCD(go=Go.browse, page=page.page + 1, status=status)
        )
        nav_row += 1
    filters = ["", "draft", "scheduled", "running", "completed"]
    for value in filters:
        mark = "• " if value == status else ""
        kb.button(
            text=mark + t(f"mailings-filter-{value or 'all'}"),
            callback_data=MailingCD(go=Go.browse, status=value),
        )
    kb.button(text=t("mailings-button-new"), callback_data=DialogCD(step=Step.name, action="new"))
    sizes = [1] * len(page.items) + ([nav_row] if nav_row else []) + [3, 2, 1]
    kb.adjust(*sizes)
    return kb.as_markup()


def card_keyboard(m: Mailing, launched: bool = False) -> InlineKeyboardMarkup:
    """``launched``: the mailing has runs, so its statistics can be opened."""
    assert m.id is not None
    kb = InlineKeyboardBuilder()
    actions: list[Go] = []
    if m.archived_at is None:
        if m.is_editable:
            actions += [Go.edit, Go.preview]
        if m.status in (MailingStatus.draft, MailingStatus.scheduled):
            actions += [Go.test, Go.launch]
        if m.status is MailingStatus.draft and m.schedule.kind is not ScheduleKind.none:
            actions += [Go.schedule]
        if m.status is MailingStatus.scheduled:
            actions += [Go.unschedule]
        if m.status is MailingStatus.running:
            actions += [Go.pause]
        if m.status is MailingStatus.paused:
            actions += [Go.resume]
        if m.status in (MailingStatus.running, MailingStatus.paused, MailingStatus.scheduled):
            actions += [Go.cancel]
        actions += [Go.duplicate, Go.delete]
    else:
        actions += [Go.duplicate]
    for go in actions:
        kb.button(
            text=t(f"mailings-button-{go.value}"), callback_data=MailingCD(go=go, mailing_id=m.id)
        )
    if launched:
        kb.button(
            text=t("stats-button-open"),
            callback_data=StatsCD(act=StatsAct.show, mailing_id=m.id),
        )
    kb.button(text=t("button-back"), callback_data=MailingCD(go=Go.browse))
    kb.adjust(2)
    return kb.as_markup()


def edit_menu_keyboard(m: Mailing) -> InlineKeyboardMarkup:
    assert m.id is not None
    kb = InlineKeyboardBuilder()
    steps = [
        Step.name,
        Step.channel,
        Step.subject,
        Step.content,
        Step.options,
        Step.lists,
        Step.schedule,
    ]
    for step in steps:
        if step is Step.subject and m.channel not in (Channel.email, Channel.sendsay):
            continue
        if step is Step.options and m.channel is not Channel.telegram:
            continue
        kb.button(
            text=t(f"mailings-edit-{step.value}"),
            callback_data=DialogCD(step=step, action="edit", value=str(m.id)),
        )
    kb.button(text=t("button-back"), callback_data=MailingCD(go=Go.open, mailing_id=m.id))
    kb.adjust(2)
    return kb.as_markup()


def confirm_delete_keyboard(mailing_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("mailings-button-del-yes"),
        callback_data=MailingCD(go=Go.delete_yes, mailing_id=mailing_id),
    )
    kb.button(text=t("button-cancel"), callback_data=MailingCD(go=Go.open, mailing_id=mailing_id))
    return kb.as_markup()
