"""The bot's replies to people survive Telegram's flood control (429 ``retry_after``): the
answer is sent once the wait is over, never lost to the log."""

from __future__ import annotations

from domain.mailings import Channel, Mailing
from tests.e2e.conftest import BotHarness, grant
from tests.e2e.test_mailings import make_list

M = 2002


async def test_a_preview_and_a_burst_of_answers_answered_429_still_arrive(bot: BotHarness) -> None:
    await grant(bot, M)
    list_id = await make_list(bot, "Readers", [7001])
    async with bot.app.db.uow_factory() as uow:
        m = await uow.mailings.add(
            Mailing(
                owner_id=M, name="Flood", channel=Channel.telegram, body="Hi", list_ids=[list_id]
            )
        )
        await uow.commit()
    menu = await bot.say(M, "/help", language_code="en")
    bot.api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=M)
    mark = bot.api.mark(M)

    bot.api.press_data(M, f"m:preview:{m.id}:0:", menu.message_id)

    card = await bot.api.wait_for_message(M, since=mark, contains="Preview: Flood", timeout=10)
    assert card.text is not None
    refused = [c for c in bot.api.calls("sendMessage") if c.get("chat_id") == str(M)]
    assert len(refused) >= 2  # the 429'd attempt, then the card

    # answers to a burst of commands all arrive under per-chat flood control (another
    # manager's chat: the preview's 429 above is the first's)
    burst = M + 1
    await grant(bot, burst)
    requests = bot.api.request_count("sendMessage")
    bot.api.set_chat_flood(burst=2, per_second=2.0, retry_after=1)
    mark = bot.api.mark(burst)

    for _ in range(5):
        bot.api.send_text(burst, "/help", language_code="en")

    for _ in range(5):
        reply = await bot.api.wait_for_message(burst, since=mark, timeout=15)
        mark = reply.seq
    assert bot.api.sent_count("sendMessage", burst) == 5
    assert bot.api.request_count("sendMessage") - requests > 5  # some were answered 429 first
