"""The fake Bot API and a real aiogram ``Bot`` talking to it, for the Telegram tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from infrastructure.channels.telegram import TelegramSession
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    # The app's own session (bot/app.py), as the channel meets it in production.
    session = TelegramSession(api=TelegramAPIServer.from_base(api.base_url), timeout=0.5)
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()
