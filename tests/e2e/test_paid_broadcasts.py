"""Fast (paid) mailings through the bot: chosen in the dialog when TELEGRAM_RATE is above
Telegram's free 30/s, shown on the card and in the preview with their cost and the bot's
Star balance, refused when the balance cannot pay, and flagged as paid broadcasts on the
broadcasts only (never on test sends or the bot's own replies)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from domain.mailings import Channel, Mailing
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_mailings import make_list, start_dialog, stored
from tests.fakes.bot_api import FakeBotAPI

M = 2002
READERS = [7201, 7202, 7203]


@pytest.fixture
async def fast_bot(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(fake_api, migrated_pg_url, telegram_rate=1000) as harness:
        await grant(harness, M)
        yield harness


async def readers(bot: BotHarness) -> int:
    """The list "Readers" of ``READERS``, made by the first caller."""
    async with bot.app.db.uow_factory() as uow:
        found = await uow.lists.find_by_name("Readers")
    if found is not None and found.id is not None:
        return found.id
    return await make_list(bot, "Readers", READERS)


async def fast_mailing(bot: BotHarness, name: str = "Flash") -> int:
    list_id = await readers(bot)
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name=name,
                channel=Channel.telegram,
                body="<b>Sale</b> today",
                list_ids=[list_id],
                fast=True,
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


def paid_flags(api: FakeBotAPI, chats: list[int]) -> list[str | None]:
    wanted = {str(c) for c in chats}
    return [
        c.get("allow_paid_broadcast") for c in api.calls("sendMessage") if c["chat_id"] in wanted
    ]


async def test_fast_mailings_offered_in_the_dialog_refused_and_sent_as_paid_broadcasts(
    fast_bot: BotHarness,
) -> None:
    bot = fast_bot
    # the dialog offers fast, and the card and the preview show its price
    bot.api.set_stars(50)
    await readers(bot)
    await start_dialog(bot, "Flash sale")
    await bot.press(M, "✈️ Telegram")
    mark = bot.api.mark(M)
    bot.api.send_text(M, "Sale today", language_code="en")
    options = await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    assert "⚡ Fast (paid): off" in options.buttons

    switched = await bot.press(M, "⚡ Fast (paid): off")

    assert "⚡ Fast (paid): on" in switched.buttons
    assert (await stored(bot, "Flash sale")).fast is True
    await bot.press(M, "Next ➡️")
    await bot.press(M, "Next ➡️")  # tracking and UTM tags as they are
    await bot.press(M, "▫️ Readers (3)")
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    report = await bot.api.wait_for_message(M, since=mark, contains="Preview: Flash sale")
    assert "up to 1000 messages/s as paid broadcasts" in report.text
    assert "at most 0.3 Stars" in report.text and "balance: 50 Stars" in report.text
    assert "🚀 Launch" in report.buttons
    mailing = await stored(bot, "Flash sale")
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing.id}:0:", menu.message_id)
    card = await bot.api.wait_for_message(M, since=mark, contains="Speed:")
    assert "⚡ fast, up to 1000 messages/s as paid broadcasts" in card.text

    # a fast launch the stars cannot pay for is refused and sends nothing
    bot.api.set_stars(0.2)  # three recipients may cost 0.3
    mailing_id = await fast_mailing(bot)
    menu = await bot.say(M, "/help", language_code="en")
    answers = len(bot.api.callback_answers)

    bot.api.press_data(M, f"m:launch:{mailing_id}:0:", menu.message_id)

    answer = await bot.api.wait_for_callback_answer(since=answers)
    assert "Cannot launch" in answer["text"]
    assert "Star balance (0.2) cannot pay" in answer["text"]
    assert all(not bot.api.messages(chat) for chat in READERS)
    async with bot.app.db.uow_factory() as uow:
        assert await uow.runs.last_for_mailing(mailing_id) is None

    # a fast launch sends paid broadcasts and nothing else is flagged
    bot.api.set_stars(50)
    mailing_id = await fast_mailing(bot, "Flash 2")
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)

    bot.api.press_data(M, f"m:test:{mailing_id}:0:", menu.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=15)
    bot.api.press_data(M, f"m:launch:{mailing_id}:0:", menu.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="3 of 3", timeout=15)

    assert paid_flags(bot.api, READERS) == ["true"] * 3  # every broadcast, once
    assert set(paid_flags(bot.api, [M])) == {None}  # the test send and every reply
    assert bot.api.paid_sends == 3


async def test_at_the_free_rate_there_is_no_fast_choice(staff_bot: BotHarness) -> None:
    bot = staff_bot
    await start_dialog(bot, "Plain")
    await bot.press(M, "✈️ Telegram")
    mark = bot.api.mark(M)
    bot.api.send_text(M, "Hello", language_code="en")
    options = await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    assert not any(b.startswith("⚡") for b in options.buttons)


@pytest.fixture
async def staff_bot(bot: BotHarness) -> BotHarness:
    await grant(bot, M)
    return bot
