"""Using a saved template as a mailing's content (the content step's button)."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.media import POST
from domain.usecases import mailings, templates
from handlers.i18n import t
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav
from handlers.services import Services


async def offer_templates(message: Message, user_id: int, services: Services) -> None:
    found = await templates.browse(services.uow_factory, user_id)
    kb = InlineKeyboardBuilder()
    for template in found[:40]:
        kb.button(
            text=f"📄 {template.name}"[:60],
            callback_data=DialogCD(
                step=Step.content, action=DialogAct.use, value=str(template.id)
            ),
        )
    nav(kb, Step.content)
    kb.adjust(*([1] * min(len(found), 40)), 2)
    await message.answer(
        t("dialog-pick-template" if found else "dialog-no-templates"), reply_markup=kb.as_markup()
    )


async def use_template(state: FSMContext, user_id: int, services: Services, value: str) -> bool:
    """Copy the template's body (and subject, for email) into the draft."""
    mailing_id = (await state.get_data()).get("mailing_id")
    if mailing_id is None or not value.isdigit():
        return False
    template = await templates.get(services.uow_factory, user_id, int(value))
    mailing = await mailings.get(services.uow_factory, user_id, mailing_id)
    changes: dict[str, Any] = {"body": template.body, "template_id": template.id, "media": None}
    if POST in mailing.options:  # the content is no longer a post: nothing to copy exactly
        changes["options"] = {k: v for k, v in mailing.options.items() if k != POST}
    if mailings.needs_subject(mailing.channel) and template.subject and not mailing.subject:
        changes["subject"] = template.subject
    await mailings.update(services.uow_factory, user_id, mailing_id, **changes)
    return True
