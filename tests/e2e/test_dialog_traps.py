"""Traps of the mailing dialog: typing where a button is wanted, content the preview
would refuse, a schedule that is set but never switched on, /cancel half-way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import BotHarness, grant
from tests.e2e.test_mailings import M, make_list, start_dialog, stored


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await grant(bot, M)
    yield bot


async def test_the_dialogs_traps_typed_buttons_blocked_content_and_cancel(
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
    mark = bot.api.mark(M)
    russian = await bot.say(M, "всем", language_code="ru")
    assert "кнопок" in russian.text
    await bot.api.wait_for_message(M, since=mark, contains="Кому отправить?")  # shown again

    # content the preview would block is refused at the content step
    await start_dialog(bot, "Long")
    await bot.press(M, "✈️ Telegram")
    long = await bot.say(M, "x" * 4097, language_code="en")
    assert "the text is longer than Telegram allows: 4097 of 4096 characters" in long.text
    assert "send the message again" in long.text
    broken = await bot.say(M, "Hi {% for x in %}", language_code="en")
    assert "a template error" in broken.text
    mark = bot.api.mark(M)
    bot.api.send_photo(M, b"\x89PNG fake", caption="y" * 1025, language_code="en")
    caption = await bot.api.wait_for_message(M, since=mark)
    assert "1025 of 1024 characters" in caption.text
    mailing = await stored(bot, "Long")
    assert mailing.body == "" and mailing.media is None  # nothing was stored
    options = await bot.say(M, "Fine now", language_code="en")
    assert "Telegram message options" in options.text

    # cancel in a new mailings dialog asks whether to keep the draft
    await start_dialog(bot, "Keep me")
    ask = await bot.say(M, "/cancel", language_code="en")
    assert "Keep its draft" in ask.text
    assert ask.buttons == ["💾 Keep the draft", "🗑 Delete it"]
    kept = await bot.press(M, "💾 Keep the draft", message_id=ask.message_id)
    assert "The draft is saved" in kept.text
    assert (await stored(bot, "Keep me")).name == "Keep me"
    await start_dialog(bot, "Drop me")
    await bot.press(M, "✈️ Telegram")
    ask = await bot.say(M, "/cancel", language_code="en")
    dropped = await bot.press(M, "🗑 Delete it", message_id=ask.message_id)
    assert "is deleted" in dropped.text
    async with bot.app.db.uow_factory() as uow:
        left = await uow.mailings.search(
            owner_id=M, status=None, page=0, size=10, include_archived=True
        )
    assert [m.name for m in left.items if m.name in {"Keep me", "Drop me"}] == ["Keep me"]
    plain = await bot.say(M, "/cancel", language_code="en")  # outside any dialog
    assert plain.text == "There is nothing to cancel."
