"""/lists → 🎯 Saved segments: each one's conditions, and deleting it (mailings that used
it keep their copy). Segments are made and used in the mailing dialog's segment screen."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.saved_segments import SavedSegment
from domain.usecases import segments
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.lists_kb import ListAct, ListCD, SavedAct, SavedCD
from handlers.mailing_segment_kb import segment_lines
from handlers.services import Services


def saved_text(saved: list[SavedSegment]) -> str:
    if not saved:
        return t("segments-none")
    parts = [t("segments-title", count=len(saved))]
    for item in saved:
        match = t(f"segment-match-{item.segment.match.value}")
        parts.append(f"\n<b>{html.escape(item.name)}</b> — {match}")
        parts += segment_lines(item.segment)
    return "\n".join(parts)


def saved_keyboard(saved: list[SavedSegment]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item in saved[:40]:
        assert item.id is not None
        kb.button(
            text=t("segments-delete", name=item.name[:40]),
            callback_data=SavedCD(action=SavedAct.delete, segment_id=item.id),
        )
    kb.button(text=t("button-back"), callback_data=ListCD(action=ListAct.home))
    kb.adjust(1)
    return kb.as_markup()


async def on_index(
    query: CallbackQuery, message: Message, user: User, services: Services, note: str = ""
) -> None:
    saved = await segments.saved_segments(services.uow_factory, user.telegram_id)
    text = saved_text(saved)
    await message.edit_text(
        f"{note}\n\n{text}" if note else text, reply_markup=saved_keyboard(saved)
    )
    await query.answer()


async def on_delete(
    query: CallbackQuery,
    message: Message,
    callback_data: SavedCD,
    user: User,
    services: Services,
) -> None:
    name = await segments.delete_saved(
        services.uow_factory, user.telegram_id, callback_data.segment_id
    )
    await on_index(query, message, user, services, note=t("segments-deleted", name=name))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.callback_query.register(on_index, SavedCD.filter(F.action == SavedAct.browse))
    router.callback_query.register(on_delete, SavedCD.filter(F.action == SavedAct.delete))
    return router
