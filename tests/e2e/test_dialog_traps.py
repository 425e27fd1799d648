"""Traps of the mailing dialog: typing where a button is wanted, content the preview
would refuse, a schedule that is set but never switched on, /cancel half-way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import BotHarness, grant
from tests.e2e.test_mailings import M, make_list, start_dialog


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await grant(bot, M)
    yield bot


async def test_text_at_a_button_step_asks_for_a_button_and_shows_them_again(
    staff: BotHarness,
) -> None:
    bot = staff
    await make_list(bot, "Readers", [7001])
    await start_dialog(bot, "Typed")
    mark = bot.api.mark(M)
    bot.api.send_text(M, "telegram", language_code="en")
    hint = await bot.api.wait_for_message(M, since=mark, contains="buttons")
    assert "/new" not in hint.text  # not the whole help
    again = await bot.api.wait_for_message(M, since=mark, contains="Which channel")
    assert "✈️ Telegram" in again.buttons
    await bot.press(M, "✈️ Telegram")
    await bot.say(M, "Hi", language_code="en")
    await bot.press(M, "Next ➡️")  # options
    await bot.press(M, "Next ➡️")  # tracking
    mark = bot.api.mark(M)
    bot.api.send_text(M, "Readers", language_code="en")
    await bot.api.wait_for_message(M, since=mark, contains="buttons")
    lists_again = await bot.api.wait_for_message(M, since=mark, contains="Who should get it?")
    assert "▫️ Readers (1)" in lists_again.buttons
    russian = await bot.say(M, "всем", language_code="ru")
    assert "кнопок" in russian.text
