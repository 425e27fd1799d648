"""The content step's input: a text, one media message of any kind, or an album.

Telegram delivers an album as separate messages sharing a ``media_group_id``, each its
own update (handled concurrently). ``Albums`` gathers them: the first item's handler
waits until no new item has come for ``quiet`` seconds (``Services.album_quiet``, 1 s)
and answers for the whole album; the other items' handlers stop at once. The album is
checked as a whole (2–10 items, kinds Telegram groups: ``domain.media.check_album``) and
stored only if it passes, so a refused album leaves the step as it was.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import Message

from domain.media import SINGLE, MediaKind, album

# Message fields of each single kind, tried in this order: an animation's message also
# carries it as a ``document`` (for old clients), so it comes first.
_KINDS = (
    MediaKind.animation,
    MediaKind.video,
    MediaKind.audio,
    MediaKind.voice,
    MediaKind.video_note,
    MediaKind.sticker,
    MediaKind.document,
)
assert set(_KINDS) | {MediaKind.photo} == SINGLE


def media_of(message: Message) -> dict[str, Any] | None:
    """The media of one message (the largest photo size), ``None`` for a text."""
    if message.photo:
        return {"type": MediaKind.photo.value, "file_id": message.photo[-1].file_id}
    for kind in _KINDS:
        found = getattr(message, kind.value)
        if found is not None:
            media = {"type": kind.value, "file_id": found.file_id}
            if kind is MediaKind.document:
                media["filename"] = found.file_name or "file"
            return media
    return None


def body_of(messages: list[Message]) -> str:
    """The text as Telegram HTML: a message's text or caption (an album's first one)."""
    for message in messages:
        if message.text or message.caption:
            return message.html_text
    return ""


def captions_dropped(messages: list[Message]) -> int:
    """How many captions of an album's later items are left out (one caption is sent)."""
    return max(0, sum(1 for m in messages if m.caption) - 1)


def content_of(messages: list[Message]) -> tuple[str, dict[str, Any] | None]:
    """(body, media) of one message or of an album's messages; raises ``InvalidInput``
    for an album Telegram would refuse."""
    if len(messages) == 1 and messages[0].media_group_id is None:
        return body_of(messages), media_of(messages[0])
    items = [media_of(m) or {"type": "text", "file_id": ""} for m in messages]
    return body_of(messages), album(items)


class Albums:
    """Gathers the messages of an album (see the module docstring)."""

    def __init__(self) -> None:
        self._groups: dict[tuple[int, str], list[Message]] = {}

    async def gather(self, message: Message, quiet: float) -> list[Message] | None:
        """All the messages of ``message``'s album, in order, to its first item's
        handler; ``None`` to the others. A message outside an album is its own list."""
        if message.media_group_id is None:
            return [message]
        key = (message.chat.id, message.media_group_id)
        group = self._groups.get(key)
        if group is not None:
            group.append(message)
            return None
        group = self._groups[key] = [message]
        try:
            seen = 0
            while seen != len(group):
                seen = len(group)
                await asyncio.sleep(quiet)
        finally:
            del self._groups[key]
        return sorted(group, key=lambda m: m.message_id)
