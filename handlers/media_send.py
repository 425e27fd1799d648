"""Sending a mailing's content into the manager's chat the way recipients get it: the
same kind (text, each media kind, an album, an exact copy), so a preview shows the real
thing (``domain.media`` has the rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message
from aiogram.utils.media_group import MediaGroupBuilder

from domain.media import CAPTIONLESS, SINGLE, MediaKind, kind_of


def album_items(items: list[Mapping[str, Any]], caption: str) -> list[Any]:
    """``sendMediaGroup``'s items: the caption goes with the first one."""
    album = MediaGroupBuilder(caption=caption or None)
    add: Any = album.add  # typed per literal kind; these kinds come from the data
    for item in items:
        add(type=str(item["type"]), media=str(item["file_id"]))
    return album.build()


async def send_content(
    message: Message,
    media: Mapping[str, Any] | None,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    silent: bool = False,
    protect: bool = False,
    link_preview: bool = True,
    edited: bool = False,
) -> None:
    """Send ``text`` with ``media`` into ``message``'s chat. An exact copy repeats the
    manager's post as it is; ``edited``: with ``text`` in place of its text (a fixed
    text's preview)."""
    common: dict[str, Any] = {"disable_notification": silent, "protect_content": protect}
    kind = kind_of(media)
    data = dict(media or {})
    if kind is MediaKind.copy:
        await _copy(message, data, text, markup, common, edited=edited)
        return
    if kind is MediaKind.album:
        await message.answer_media_group(album_items(list(data["items"]), text), **common)
        return
    if kind in SINGLE:
        assert kind is not None
        send = getattr(message, f"answer_{kind.value}")
        caption: dict[str, Any] = {} if kind in CAPTIONLESS else {"caption": text or None}
        await send(data["file_id"], reply_markup=markup, **caption, **common)
        return
    await message.answer(
        text or "—",
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=not link_preview),
        **common,
    )


async def _copy(
    message: Message,
    data: dict[str, Any],
    text: str,
    markup: InlineKeyboardMarkup | None,
    common: dict[str, Any],
    *,
    edited: bool,
) -> None:
    bot = message.bot
    assert bot is not None
    chat, source = message.chat.id, int(data["from_chat_id"])
    ids = [int(i) for i in data.get("message_ids") or ()]
    if edited and str(data.get("kind") or "text") == "text":
        await message.answer(text, reply_markup=markup, **common)
        return
    if len(ids) > 1:
        await bot.copy_messages(chat, source, ids, **common)
        if edited:
            await message.answer(text, **common)
        return
    caption: dict[str, Any] = {"caption": text} if edited else {}
    await bot.copy_message(chat, source, ids[0], reply_markup=markup, **caption, **common)
