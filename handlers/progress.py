"""A progress message that appears only for slow work and is edited at a gentle pace.

Telegram limits how often a bot may edit messages; a few seconds between edits keeps
well clear of it, and quick jobs never show a progress message at all.
"""

from __future__ import annotations

import contextlib
import time

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from handlers.i18n import t


class ProgressMessage:
    def __init__(
        self, chat: Message, key: str, *, delay: float = 2.0, interval: float = 3.0
    ) -> None:
        self.chat, self.key = chat, key
        self.delay, self.interval = delay, interval
        self.started = time.monotonic()
        self.last_edit = 0.0
        self.sent: Message | None = None

    async def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.started < self.delay or now - self.last_edit < self.interval:
            return
        self.last_edit = now
        text = t(self.key, done=f"{done:,}".replace(",", " "))
        try:
            if self.sent is None:
                self.sent = await self.chat.answer(text)
            else:
                await self.sent.edit_text(text)
        except TelegramAPIError:
            pass  # progress is a courtesy; the work goes on

    async def close(self) -> None:
        if self.sent is not None:
            with contextlib.suppress(TelegramAPIError):
                await self.sent.delete()
