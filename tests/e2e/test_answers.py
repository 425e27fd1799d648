"""Answer buttons end to end: the copies carry them, several recipients press (a double
press, a changed answer, forged and stale data), each press is acknowledged with a toast,
recorded once per recipient, and the run's statistics show the answers per option with
a chart; the dialog refuses a label over 64 bytes and more than 8 buttons."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import text

from domain.answers import ANSWERS
from domain.mailings import Channel, Mailing
from tests.e2e.conftest import BotHarness
from tests.e2e.test_mailings import M, make_list, make_staff, start_dialog, stored
from tests.e2e.test_stats import export
from tests.fakes.bot_api import SentMessage

READERS = [7801, 7802, 7803]


async def toast(bot: BotHarness, chat: int, data: str, message_id: int) -> Any:
    return (await bot.alert(chat, data, message_id))["text"]


async def test_answer_buttons_are_set_in_the_dialog_and_presses_counted_once(
    bot: BotHarness,
) -> None:
    await make_staff(bot)
    await start_dialog(bot, "Vote")
    await bot.press(M, "✈️ Telegram")
    options = await bot.say(M, "Vote now", language_code="en")
    ask = await bot.press(M, "🗳 Answer buttons (0)", message_id=options.message_id)
    assert "up to 8" in ask.text
    long = "Я" * 33  # 66 bytes in UTF-8
    refused = await bot.say(M, f"Да | {long}", language_code="en")
    assert (
        refused.text == f"The label “{long}” takes 66 bytes; a button's data holds 64. Shorten it."
    )
    many = await bot.say(M, " | ".join(str(i) for i in range(9)), language_code="en")
    assert many.text.startswith("9 answer buttons")
    assert ANSWERS not in (await stored(bot, "Vote")).options
    saved = await bot.say(M, "Sign me up | Not now", language_code="en")
    assert saved.text == "Answer buttons saved: 2." and "🗳 Answer buttons (2)" in saved.buttons
    assert (await stored(bot, "Vote")).options[ANSWERS] == ["Sign me up", "Not now"]

    # presses are recorded once per recipient and counted
    await make_staff(bot)
    list_id = await make_list(bot, "Voters", READERS)
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Poll",
                channel=Channel.telegram,
                body="Did you like it?",
                list_ids=[list_id],
                options={
                    ANSWERS: ["👍", "👎"],
                    "buttons": [[{"text": "Site", "url": "https://example.com"}]],
                },
            )
        )
        await uow.commit()
    assert mailing.id is not None
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing.id}:0:", menu.message_id)
    card = await bot.api.wait_for_message(M, since=mark, contains="Poll")
    bot.api.press(M, "🚀 Launch", message_id=card.message_id)
    await bot.api.wait_for_message(M, contains="Summary", timeout=20)
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing.id)
    assert run is not None and run.id is not None

    copies: dict[int, SentMessage] = {chat: bot.api.messages(chat)[0] for chat in READERS}
    assert copies[7801].buttons == ["Site", "👍", "👎"]
    ok, no = f"a:{run.id}:0", f"a:{run.id}:1"
    assert await toast(bot, 7801, ok, copies[7801].message_id) == "✅ Your answer: 👍"
    assert await toast(bot, 7802, no, copies[7802].message_id) == "✅ Your answer: 👎"
    assert await toast(bot, 7802, ok, copies[7802].message_id) == "🔄 Answer changed: 👍"
    assert await toast(bot, 7801, ok, copies[7801].message_id) == "✅ You answered 👍 already"
    gone = "This button no longer works."
    assert await toast(bot, 7803, f"a:{run.id}:7", copies[7803].message_id) == gone
    assert await toast(bot, 7803, f"a:{run.id + 50}:0", copies[7803].message_id) == gone
    # Another message than the presser's copy (a stale one, or the manager's card).
    assert await toast(bot, 7803, ok, copies[7803].message_id + 100) == gone
    assert await toast(bot, M, ok, card.message_id) == gone

    async with bot.app.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT option, presses FROM run_answers WHERE run_id = :r ORDER BY 1, 2"),
                {"r": run.id},
            )
        ).all()
    assert [tuple(r) for r in rows] == [(0, 2), (0, 2)]

    opened = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"st:show:{mailing.id}:{run.id}:0", opened.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Answers", timeout=20)
    assert "🗳 Answers (2 recipients):" in figures.text
    assert "👍: 2 (100%)" in figures.text and "👎: 0 (0%)" in figures.text
    photos = [m for m in bot.api.messages(M) if m.seq > mark and m.kind == "photo"]
    assert len(photos) == 2  # the run's chart and the answers' chart
    assert all(p.file and p.file.content.startswith(b"\x89PNG") for p in photos)

    # The per-recipient report carries each one's answer (by its label).
    report = csv.DictReader(
        io.StringIO((await export(bot, "CSV", figures, 3)).decode("utf-8-sig"))
    )
    assert {row["address"]: row["answer"] for row in report} == {
        "7801": "👍",
        "7802": "👍",
        "7803": "",
    }
