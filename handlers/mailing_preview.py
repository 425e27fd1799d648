"""The preview: the message exactly as the first recipient gets it, then a report with
the audience, warnings and what to do next."""

from __future__ import annotations

import html

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Channel, Mailing
from domain.usecases import preview as previews
from handlers.follow_ups_kb import url_keyboard
from handlers.i18n import t
from handlers.mailings_kb import MailingAct, MailingCD
from handlers.mailings_text import preview_report
from handlers.media_send import send_content
from handlers.services import Services


def url_buttons(mailing: Mailing) -> InlineKeyboardMarkup | None:
    return url_keyboard(mailing.options.get("buttons"))


async def send_sample(message: Message, p: previews.Preview) -> None:
    """Send the rendered message the way the channel would (Telegram formatting, media)."""
    m = p.mailing
    try:
        if m.channel is not Channel.telegram:
            header = f"<b>{html.escape(p.subject)}</b>\n\n" if p.subject else ""
            await message.answer(header + (p.body or "—"))
            return
        await send_content(
            message,
            m.media,
            p.body,
            markup=url_buttons(m),
            silent=bool(m.options.get("silent")),
            protect=bool(m.options.get("protect")),
            link_preview=bool(m.options.get("link_preview", True)),
        )
    except TelegramBadRequest as exc:
        # Telegram refused it (broken HTML, too long): show it raw; the report says why
        raw = "<pre>" + html.escape(p.body[:3500]) + "</pre>"
        await message.answer(t("preview-raw", reason=exc.message) + "\n\n" + raw)


def actions_keyboard(m: Mailing, can_launch: bool) -> InlineKeyboardMarkup:
    assert m.id is not None
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("mailings-button-save"),
        callback_data=MailingCD(action=MailingAct.save, mailing_id=m.id),
    )
    kb.button(
        text=t("mailings-button-test"),
        callback_data=MailingCD(action=MailingAct.test, mailing_id=m.id),
    )
    if can_launch:
        kb.button(
            text=t("mailings-button-launch"),
            callback_data=MailingCD(action=MailingAct.launch, mailing_id=m.id),
        )
    kb.button(
        text=t("mailings-button-edit"),
        callback_data=MailingCD(action=MailingAct.edit, mailing_id=m.id),
    )
    kb.adjust(1, 2, 1)
    return kb.as_markup()


async def show_preview(
    message: Message, user_id: int, services: Services, mailing_id: int
) -> None:
    p = await previews.build(
        services.uow_factory,
        services.renderer,
        user_id,
        mailing_id,
        services.available_channels,
        paid=services.paid_broadcasts,
    )
    await send_sample(message, p)
    await message.answer(preview_report(p), reply_markup=actions_keyboard(p.mailing, p.can_launch))
