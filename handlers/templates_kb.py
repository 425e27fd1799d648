"""The template screens: callback data, keyboards, texts, and the index and card messages."""

from __future__ import annotations

from datetime import tzinfo
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.content import TEXT_LIMIT, visible_length, visible_text
from domain.pagination import Page
from domain.templates import Template
from domain.usecases import templates
from domain.users import User
from handlers.i18n import t
from handlers.services import Services

PAGE_SIZE = 10
PREVIEW = 60  # visible characters of a body shown in the index


class TemplateAct(StrEnum):
    """Template buttons (the values travel in callback data: keep them)."""

    home = "home"
    new = "new"
    open = "open"
    skip = "skip"  # no subject, while creating
    back = "back"  # one step back, while creating
    edit_name = "edit_name"
    edit_subject = "edit_subject"
    edit_body = "edit_body"
    no_subject = "no_subject"  # remove the subject, while editing
    delete = "delete"
    delete_yes = "delete_yes"


class TemplateCD(CallbackData, prefix="tpl"):
    action: TemplateAct
    template_id: int = 0
    page: int = 0


def paginate(items: list[Template], page: int) -> Page[Template]:
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return Page(items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], len(items), page, PAGE_SIZE)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def index_text(page: Page[Template]) -> str:
    if not page.total:
        return t("templates-empty")
    lines = [t("templates-title", count=page.total)]
    for tpl in page.items:
        line = t("templates-line-name", name=tpl.name)
        if tpl.subject:
            line += "\n" + t("templates-line-subject", subject=shorten(tpl.subject, PREVIEW))
        line += "\n" + t(
            "templates-line-preview", preview=shorten(visible_text(tpl.body), PREVIEW)
        )
        lines.append(line)
    return "\n\n".join(lines)


def card_head(tpl: Template, tz: tzinfo, note: str = "") -> str:
    """Everything above the body: the body itself follows as the recipient will see it."""
    stamp = tpl.updated_at or tpl.created_at
    head = t(
        "templates-card",
        name=tpl.name,
        subject=tpl.subject or t("templates-no-subject"),
        updated=stamp.astimezone(tz).strftime("%d.%m.%Y %H:%M") if stamp else "—",
    )
    return f"{note}\n\n{head}" if note else head


def index_keyboard(page: Page[Template]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for tpl in page.items:
        assert tpl.id is not None
        kb.button(
            text=f"📝 {tpl.name}",
            callback_data=TemplateCD(action=TemplateAct.open, template_id=tpl.id),
        )
    nav = [(page.has_prev, "◀️", page.page - 1), (page.has_next, "▶️", page.page + 1)]
    for shown, arrow, target in nav:
        if shown:
            kb.button(text=arrow, callback_data=TemplateCD(action=TemplateAct.home, page=target))
    kb.button(text=t("templates-button-new"), callback_data=TemplateCD(action=TemplateAct.new))
    arrows = int(page.has_prev) + int(page.has_next)
    kb.adjust(*([1] * len(page.items)), *([arrows] if arrows else []), 1)
    return kb.as_markup()


def card_keyboard(template_id: int, can_manage: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    acts = (
        [
            TemplateAct.edit_name,
            TemplateAct.edit_subject,
            TemplateAct.edit_body,
            TemplateAct.delete,
        ]
        if can_manage
        else []
    )
    for act in acts:
        kb.button(
            text=t(f"templates-button-{act.value.replace('_', '-')}"),
            callback_data=TemplateCD(action=act, template_id=template_id),
        )
    kb.button(text=t("button-back"), callback_data=TemplateCD(action=TemplateAct.home))
    kb.adjust(*([2] * (len(acts) // 2)), 1)
    return kb.as_markup()


def step_keyboard(*, skip: bool = False, back: bool = False) -> InlineKeyboardMarkup:
    """Buttons under a prompt of the creation dialog."""
    kb = InlineKeyboardBuilder()
    if skip:
        kb.button(
            text=t("templates-button-skip"), callback_data=TemplateCD(action=TemplateAct.skip)
        )
    if back:
        kb.button(text=t("button-back"), callback_data=TemplateCD(action=TemplateAct.back))
    kb.button(text=t("button-cancel"), callback_data=TemplateCD(action=TemplateAct.home))
    kb.adjust(1)
    return kb.as_markup()


def edit_keyboard(template_id: int, *, no_subject: bool = False) -> InlineKeyboardMarkup:
    """Buttons under a prompt for a new value: Cancel goes back to the card."""
    kb = InlineKeyboardBuilder()
    if no_subject:
        kb.button(
            text=t("templates-button-no-subject"),
            callback_data=TemplateCD(action=TemplateAct.no_subject, template_id=template_id),
        )
    kb.button(
        text=t("button-cancel"),
        callback_data=TemplateCD(action=TemplateAct.open, template_id=template_id),
    )
    kb.adjust(1)
    return kb.as_markup()


def confirm_delete_keyboard(template_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("templates-button-delete-yes"),
        callback_data=TemplateCD(action=TemplateAct.delete_yes, template_id=template_id),
    )
    kb.button(
        text=t("button-cancel"),
        callback_data=TemplateCD(action=TemplateAct.open, template_id=template_id),
    )
    return kb.as_markup()


async def _show(
    message: Message, text: str, markup: InlineKeyboardMarkup | None, edit: bool
) -> None:
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def show_index(
    message: Message, user: User, services: Services, page: int = 0, edit: bool = False
) -> None:
    shown = paginate(await templates.browse(services.uow_factory, user.telegram_id), page)
    await _show(message, index_text(shown), index_keyboard(shown), edit)


async def show_card(
    message: Message,
    user: User,
    services: Services,
    template_id: int,
    edit: bool = False,
    note: str = "",
) -> None:
    """Heading, then the stored HTML itself; ``note`` (what just happened) goes on top."""
    tpl = await templates.get(services.uow_factory, user.telegram_id, template_id)
    markup = card_keyboard(template_id, templates.can_manage(user, tpl))
    head = card_head(tpl, services.tz, note)
    whole = f"{head}\n\n{tpl.body}"
    if visible_length(whole) <= TEXT_LIMIT:
        await _show(message, whole, markup, edit)
        return
    # A body near Telegram's limit does not fit under a heading: it goes on its own.
    await _show(message, head, None, edit)
    await message.answer(tpl.body, reply_markup=markup)
