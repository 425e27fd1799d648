"""Callback data and keyboards of the mailing screens and the create/edit dialog."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Channel, Mailing, MailingAction, MailingStatus, allowed_actions
from domain.pagination import Page
from domain.tracking_plan import TRACKED_CHANNELS
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


class MailingAct(StrEnum):
    """Card and browsing buttons. The values travel in callback data: keep them, so
    buttons on messages sent before an upgrade still work."""

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
    card = "card"  # the card as a new message (from a progress message, which stays)


# The card's button for each action the mailing's status allows (same names).
CARD_BUTTONS = {action: MailingAct[action.name] for action in MailingAction}


class MailingCD(CallbackData, prefix="m"):
    action: MailingAct
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
    tracking = "tracking"  # opens and clicks, UTM tags (email and Telegram)
    lists = "lists"
    schedule = "schedule"
    preview = "preview"


class DialogAct(StrEnum):
    """Presses inside the dialog (values travel in callback data: keep them)."""

    new = "new"  # start a new mailing
    edit = "edit"  # open one step of an existing mailing
    back = "back"
    cancel = "cancel"
    pick = "pick"  # channel
    toggle = "toggle"  # a list, or an option
    next = "next"
    buttons = "buttons"  # options: ask for URL buttons
    fast = "fast"  # options: fast (paid broadcasts) or free
    templates = "templates"  # content: offer the saved templates
    use = "use"  # content: use one template
    manual = "manual"  # schedule: launched by hand
    once = "once"
    quick = "quick"  # once, at one of the offered times
    recurring = "recurring"
    kind = "kind"  # recurring: daily, weekly, monthly or cron
    confirm = "confirm"
    end_runs = "end_runs"
    end_date = "end_date"
    utm_content = "utm_content"  # tracking: ask for utm_content
    answers = "answers"  # options: ask for answer buttons


class DialogCD(CallbackData, prefix="md"):
    """A press inside the dialog: ``action`` within ``step`` with an optional value."""

    step: Step
    action: DialogAct
    value: str = ""


def nav(kb: InlineKeyboardBuilder, step: Step, back: bool = True) -> None:
    """Back (one step) and Cancel (leave the dialog; the draft stays) buttons."""
    if back:
        kb.button(text=t("button-back"), callback_data=DialogCD(step=step, action=DialogAct.back))
    kb.button(text=t("button-cancel"), callback_data=DialogCD(step=step, action=DialogAct.cancel))


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
            callback_data=DialogCD(step=Step.channel, action=DialogAct.pick, value=channel.value),
        )
    nav(kb, Step.channel)
    kb.adjust(2, 2, 2)
    return kb.as_markup()


def browse_keyboard(
    page: Page[Mailing], status: str, authors: dict[int, str] | None = None
) -> InlineKeyboardMarkup:
    """``authors``: the owner's name by id, shown after each mailing (an admin's view)."""
    kb = InlineKeyboardBuilder()
    for m in page.items:
        assert m.id is not None
        icon = "🗄" if m.archived_at else STATUS_ICONS[m.status]
        author = (authors or {}).get(m.owner_id)
        text = f"{icon} {m.name}"[: 60 - len(author or "") - 3]
        kb.button(
            text=f"{text} · {author}" if author else text,
            callback_data=MailingCD(action=MailingAct.open, mailing_id=m.id),
        )
    nav_row = 0
    if page.has_prev:
        kb.button(
            text="◀️",
            callback_data=MailingCD(action=MailingAct.browse, page=page.page - 1, status=status),
        )
        nav_row += 1
    if page.has_next:
        kb.button(
            text="▶️",
            callback_data=MailingCD(action=MailingAct.browse, page=page.page + 1, status=status),
        )
        nav_row += 1
    filters = ["", "draft", "scheduled", "running", "completed"]
    for value in filters:
        mark = "• " if value == status else ""
        kb.button(
            text=mark + t(f"mailings-filter-{value or 'all'}"),
            callback_data=MailingCD(action=MailingAct.browse, status=value),
        )
    kb.button(
        text=t("mailings-button-new"), callback_data=DialogCD(step=Step.name, action=DialogAct.new)
    )
    sizes = [1] * len(page.items) + ([nav_row] if nav_row else []) + [3, 2, 1]
    kb.adjust(*sizes)
    return kb.as_markup()


def card_keyboard(m: Mailing, launched: bool = False) -> InlineKeyboardMarkup:
    """``launched``: the mailing has runs, so its statistics can be opened."""
    assert m.id is not None
    kb = InlineKeyboardBuilder()
    for action in allowed_actions(m):
        button = CARD_BUTTONS[action]
        kb.button(
            text=t(f"mailings-button-{button.value}"),
            callback_data=MailingCD(action=button, mailing_id=m.id),
        )
    if launched:
        kb.button(
            text=t("stats-button-open"),
            callback_data=StatsCD(action=StatsAct.show, mailing_id=m.id),
        )
    kb.button(text=t("button-back"), callback_data=MailingCD(action=MailingAct.browse))
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
        Step.tracking,
        Step.lists,
        Step.schedule,
    ]
    for step in steps:
        if step is Step.subject and m.channel not in (Channel.email, Channel.sendsay):
            continue
        if step is Step.options and m.channel is not Channel.telegram:
            continue
        if step is Step.tracking and m.channel not in TRACKED_CHANNELS:
            continue
        kb.button(
            text=t(f"mailings-edit-{step.value}"),
            callback_data=DialogCD(step=step, action=DialogAct.edit, value=str(m.id)),
        )
    kb.button(
        text=t("button-back"), callback_data=MailingCD(action=MailingAct.open, mailing_id=m.id)
    )
    kb.adjust(2)
    return kb.as_markup()


def confirm_delete_keyboard(mailing_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("mailings-button-del-yes"),
        callback_data=MailingCD(action=MailingAct.delete_yes, mailing_id=mailing_id),
    )
    kb.button(
        text=t("button-cancel"),
        callback_data=MailingCD(action=MailingAct.open, mailing_id=mailing_id),
    )
    return kb.as_markup()
