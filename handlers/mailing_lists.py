"""The lists step: pick one or several lists; the reachable count follows every press."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Mailing
from domain.usecases import lists, mailings
from domain.usecases import preview as previews
from domain.usecases.ab_tests import test_of
from handlers.i18n import t
from handlers.mailing_ab_kb import ABCD, ABAct, state_label
from handlers.mailing_segment_kb import SegAct, SegmentCD
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav
from handlers.services import Services

MAX_SHOWN = 40  # lists on one keyboard; Telegram allows 100 buttons


async def lists_screen(
    user_id: int, services: Services, mailing: Mailing
) -> tuple[str, InlineKeyboardMarkup]:
    views = await lists.overview(services.uow_factory, user_id)
    kb = InlineKeyboardBuilder()
    for v in views[:MAX_SHOWN]:
        assert v.rlist.id is not None
        mark = "✅ " if v.rlist.id in mailing.list_ids else "▫️ "
        kb.button(
            text=f"{mark}{v.rlist.name} ({v.size.total})"[:60],
            callback_data=DialogCD(
                step=Step.lists, action=DialogAct.toggle, value=str(v.rlist.id)
            ),
        )
    if mailing.list_ids:
        kb.button(
            text=t("segment-open", state=_segment_state(mailing)),
            callback_data=SegmentCD(action=SegAct.open),
        )
        kb.button(
            text=t("ab-open", state=state_label(test_of(mailing))),
            callback_data=ABCD(action=ABAct.open),
        )
        kb.button(
            text=t("dialog-next"), callback_data=DialogCD(step=Step.lists, action=DialogAct.next)
        )
    nav(kb, Step.lists)
    kb.adjust(*([1] * min(len(views), MAX_SHOWN)), *([1, 1, 1] if mailing.list_ids else []), 2)
    if not views:
        return t("dialog-no-lists"), kb.as_markup()
    assert mailing.id is not None
    p = await previews.build(
        services.uow_factory, services.renderer, user_id, mailing.id, services.available_channels
    )
    text = t(
        "dialog-ask-lists",
        channel=t(f"channel-{mailing.channel.value}"),
        count=p.audience.reachable,
        suppressed=p.audience.suppressed,
    )
    return text, kb.as_markup()


def _segment_state(mailing: Mailing) -> str:
    """ "everyone", or how many conditions and exclusions narrow the lists."""
    if mailing.targeting.is_everyone:
        return t("segment-state-everyone")
    return t("segment-state-narrowed", count=len(mailing.targeting.segment.conditions))


async def ask_lists(message: Message, user_id: int, services: Services, mailing: Mailing) -> None:
    text, markup = await lists_screen(user_id, services, mailing)
    await message.answer(text, reply_markup=markup)


async def toggle_list(
    message: Message, state: FSMContext, user_id: int, services: Services, value: str
) -> Mailing | None:
    """Add or remove one list; returns the updated mailing."""
    mailing_id = (await state.get_data()).get("mailing_id")
    if mailing_id is None or not value.isdigit():
        return None
    mailing = await mailings.get(services.uow_factory, user_id, mailing_id)
    chosen = list(mailing.list_ids)
    list_id = int(value)
    chosen = [i for i in chosen if i != list_id] if list_id in chosen else [*chosen, list_id]
    mailing = await mailings.update(services.uow_factory, user_id, mailing_id, list_ids=chosen)
    text, markup = await lists_screen(user_id, services, mailing)
    await message.edit_text(text, reply_markup=markup)
    return mailing
