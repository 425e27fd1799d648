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
    # The app's own session (bot/app.py), as the channel meets it in production; 3 s: a
    # loaded machine (tests run in parallel) must not turn a slow answer into a failure.
    session = TelegramSession(api=TelegramAPIServer.from_base(api.base_url), timeout=3)
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()
