"""The dialog's tracking step: opens and clicks, UTM tags and ``utm_content`` (email and
Telegram; Sendsay counts clicks itself and a webhook's text is another system's)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Mailing
from domain.tracking import slug
from domain.tracking_plan import Switch, tracking_on, utm_on
from handlers.i18n import t
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav
from handlers.services import Services


def tracking_keyboard(options: dict[str, Any], service_tracking: bool) -> InlineKeyboardMarkup:
    """``service_tracking``: ``TRACKING`` is on; else the mailing's own switch is moot."""
    kb = InlineKeyboardBuilder()
    rows = []
    switches = [Switch.tracking, Switch.utm] if service_tracking else [Switch.utm]
    for switch in switches:
        on = tracking_on(options) if switch is Switch.tracking else utm_on(options)
        kb.button(
            text=t(f"dialog-switch-{switch.value}", state=t("on" if on else "off")),
            callback_data=DialogCD(step=Step.tracking, action=DialogAct.toggle, value=switch),
        )
        rows.append(1)
    if utm_on(options):
        kb.button(
            text=t("dialog-utm-content", value=options.get("utm_content") or "—"),
            callback_data=DialogCD(step=Step.tracking, action=DialogAct.utm_content),
        )
        rows.append(1)
    kb.button(
        text=t("dialog-next"), callback_data=DialogCD(step=Step.tracking, action=DialogAct.next)
    )
    nav(kb, Step.tracking)
    kb.adjust(*rows, 1, 2)
    return kb.as_markup()


def tracking_text(mailing: Mailing, service_tracking: bool) -> str:
    campaign = slug(mailing.name, f"mailing-{mailing.id}")
    text = t("dialog-ask-tracking", campaign=campaign)
    return text if service_tracking else f"{text}\n\n{t('dialog-tracking-service-off')}"


async def ask_tracking(message: Message, services: Services, mailing: Mailing) -> None:
    await message.answer(
        tracking_text(mailing, services.tracking),
        reply_markup=tracking_keyboard(mailing.options, services.tracking),
    )
