"""An A/B test through the bot, on a fake clock the handlers, the workers and the A/B
job share: the dialog takes a variant of the text, the sample's share, the waiting time
and the metric (refusing a variant that changes nothing and a sample too small to
split), the launch sends the sample split evenly, recipients of B press an answer
button, and once the waiting time is up the job sends B to the rest by itself and tells
the manager which variant won and by how much."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain.saved_segments import SavedSegment
from domain.segments import Condition, Op, Segment
from tests.e2e.conftest import BotHarness, running_bot
from tests.e2e.test_local_time import FakeClock
from tests.e2e.test_mailings import M, make_list, make_staff
from tests.e2e.test_stats import export
from tests.fakes.bot_api import SentMessage

READERS = list(range(7301, 7361))  # 60 chats
# The fake clock starts at the real time: the heartbeat's requeue (on the real clock)
# must never find the rows the workers claim (on the fake one) older than their lease.
START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def staff(
    fake_api: object, migrated_pg_url: str
) -> AsyncIterator[tuple[BotHarness, FakeClock]]:
    clock = FakeClock(START)
    async with running_bot(
        fake_api,  # type: ignore[arg-type]
        migrated_pg_url,
        services={"clock": clock},
        scheduler_tick_seconds=1,
    ) as bot:
        await make_staff(bot)
        yield bot, clock


async def count(bot: BotHarness, sql: str) -> int:
    async with bot.app.db.engine.connect() as conn:
        return int(await conn.scalar(text(sql)) or 0)


async def settled(bot: BotHarness, sql: str, expected: int) -> None:
    """Wait (generously: the machine is shared) until ``sql`` counts ``expected``."""
    found = -1
    for _ in range(300):
        found = await count(bot, sql)
        if found == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{found} rather than {expected}: {sql}")


async def build_test(bot: BotHarness) -> None:
    await make_list(bot, "Readers", READERS)
    await bot.say(M, "/new", language_code="en")
    await bot.say(M, "Choice", language_code="en")
    await bot.press(M, "✈️ Telegram")
    options = await bot.say(M, "Variant A: pick a date", language_code="en")
    await bot.press(M, "🗳 Answer buttons (0)", message_id=options.message_id)
    saved = await bot.say(M, "👍 | 👎", language_code="en")
    await bot.press(M, "Next ➡️", message_id=saved.message_id)
    await bot.press(M, "Next ➡️")  # tracking
    await bot.press(M, "▫️ Readers (60)")
    screen = await bot.press(M, "🧪 A/B test: off")
    assert "No test" in screen.text and "➕ A variant of the subject" not in screen.buttons
    ask = await bot.press(M, "➕ A variant of the text")
    assert "variant's text" in ask.text
    same = await bot.say(M, "Variant A: pick a date", language_code="en")
    assert "Variant B is the same as an earlier one" in same.text
    screen = await bot.say(M, "Variant B: pick a date <soon>", language_code="en")
    assert "<b>B</b>: Variant B: pick a date &lt;soon&gt;" in (screen.raw_text or "")
    assert "🧪" in screen.text and "by clicks" in screen.text  # Telegram, tracked: clicks first
    await bot.press(M, "🎲 Sample: 20 %")
    small = await bot.say(M, "20", language_code="en")
    assert "A sample of 12 is too small to split into 2 variants" in small.text
    screen = await bot.say(M, "50", language_code="en")
    assert "Sample: 50 % — 30 of 60 recipients now, 15 per variant" in screen.text
    await bot.press(M, "⏳ Winner after: 4 h")
    wrong = await bot.say(M, "2 weeks", language_code="en")
    assert "from 15 minutes to 7 days" in wrong.text
    await bot.say(M, "2h", language_code="en")
    screen = await bot.press(M, "📏 By: clicks")
    assert "📏 By: answer buttons pressed" in screen.buttons
    lists = await bot.press(M, "✅ Done")
    assert "🧪 A/B test: 2 variants" in lists.buttons


async def launch(bot: BotHarness) -> None:
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    preview = await bot.api.wait_for_message(M, since=mark, contains="Preview: Choice")
    assert "🧪 A/B test: 2 variants to 50 % (30 recipients now); the winner by answer" in (
        preview.text or ""
    )
    mark = len(bot.api.callback_answers)
    bot.api.press(M, "🚀 Launch")
    answer = await bot.api.wait_for_callback_answer(since=mark)
    assert answer["text"] == "Launched!"


def received(bot: BotHarness) -> dict[int, str]:
    return {
        chat: bot.api.messages(chat)[0].text or "" for chat in READERS if bot.api.messages(chat)
    }


async def test_an_ab_test_runs_to_its_automatic_winner(
    staff: tuple[BotHarness, FakeClock],
) -> None:
    bot, clock = staff
    await build_test(bot)
    await launch(bot)
    sample = await count(bot, "SELECT count(*) FROM deliveries WHERE variant IS NOT NULL")
    held = await count(bot, "SELECT count(*) FROM deliveries WHERE variant IS NULL")
    assert sample + held == 60 and 16 <= sample <= 44
    await settled(bot, "SELECT count(*) FROM deliveries WHERE status = 'delivered'", sample)
    got = received(bot)
    assert len(got) == sample  # the rest wait for the winner
    b_chats = [chat for chat, body in got.items() if body.startswith("Variant B")]
    a_chats = [chat for chat, body in got.items() if body.startswith("Variant A")]
    assert len(b_chats) + len(a_chats) == sample and b_chats and a_chats
    run_id = await count(bot, "SELECT max(id) FROM mailing_runs")
    waiting = await bot.api.wait_for_message(  # the progress message, the sample out
        M, predicate=lambda m: f"{sample} of 60" in (m.text or ""), timeout=20
    )
    assert "wait for the A/B test's winner" in (waiting.text or "")
    assert "left ≈ —" in (waiting.text or "")
    for chat in b_chats:  # everyone who got B answers; nobody who got A does
        copy = bot.api.messages(chat)[0]
        await bot.alert(chat, f"a:{run_id}:0", copy.message_id)

    mark = bot.api.mark(M)
    clock.set(START + timedelta(hours=2, seconds=5))
    told = await bot.api.wait_for_message(M, since=mark, contains="🏆", timeout=30)
    assert "variant B won by answer buttons pressed, +100.0 points" in told.text
    assert f"B: {len(b_chats)} of {len(b_chats)} (100.0 %)" in told.text
    assert f"A: 0 of {len(a_chats)} (0.0 %)" in told.text
    assert f"It goes to the rest of the recipients now: {held}." in told.text
    assert "within chance" not in told.text
    await settled(bot, "SELECT count(*) FROM deliveries WHERE status = 'delivered'", 60)
    for _ in range(100):  # the last sends are recorded a moment after the fake saw them
        if len(received(bot)) == 60:
            break
        await asyncio.sleep(0.1)
    got = received(bot)
    assert len(got) == 60
    assert all(len(bot.api.messages(chat)) == 1 for chat in READERS)  # each exactly once
    rest = [chat for chat in READERS if chat not in a_chats and chat not in b_chats]
    assert all(got[chat].startswith("Variant B") for chat in rest)
    # Decided once, though the scheduler ticked on past the due time meanwhile.
    assert await count(bot, "SELECT count(*) FROM mailing_runs WHERE ab_due_at IS NOT NULL") == 0
    decided = "SELECT count(*) FROM audit_log WHERE action = 'mailing.ab_winner'"
    assert await count(bot, decided) == 1


async def test_the_runs_statistics_show_each_variant_each_segment_and_export_the_variant(
    staff: tuple[BotHarness, FakeClock],
) -> None:
    bot, clock = staff
    await build_test(bot)
    async with bot.app.db.uow_factory() as uow:
        early = Segment((Condition("name", Op.contains, "R730"),))  # 7301-7309
        await uow.segments.add(SavedSegment(M, "Early", early))
        await uow.commit()
    await launch(bot)
    sample = await count(bot, "SELECT count(*) FROM deliveries WHERE variant IS NOT NULL")
    await settled(bot, "SELECT count(*) FROM deliveries WHERE status = 'delivered'", sample)
    mailing_id = await count(bot, "SELECT id FROM mailings WHERE name = 'Choice'")
    run_id = await count(bot, "SELECT max(id) FROM mailing_runs")
    figures = await statistics(bot, mailing_id, run_id)
    assert "🧪 A/B test, by answer buttons pressed:" in figures.text
    assert "The winner is picked at" in figures.text
    assert re.search(r"A: 0 of \d+ \(0\.0 %\)", figures.text)
    assert figures.buttons[:2] == ["🏆 Send A to the rest", "🏆 Send B to the rest"]

    by_segment = await pressed(bot, "🎯 By segment", figures, "by segment")
    early_sample = await count(
        bot,
        "SELECT count(*) FROM deliveries d JOIN addresses a ON a.id = d.address_id"
        " WHERE d.variant IS NOT NULL AND a.value LIKE '730_'",
    )
    assert f"• Early: 9 · delivered {early_sample} ({round(100 * early_sample / 9)} %)" in (
        by_segment.text
    )

    picked = await pressed(bot, "🏆 Send A to the rest", figures, "🏆")
    assert "variant A was chosen by hand" in picked.text
    await settled(bot, "SELECT count(*) FROM deliveries WHERE status = 'delivered'", 60)
    figures = await statistics(bot, mailing_id, run_id)
    assert "Variant A was chosen by hand" in figures.text and "Now, with the rest:" in figures.text
    assert "🏆 Send A to the rest" not in figures.buttons
    rows = list(
        csv.DictReader(io.StringIO((await export(bot, "CSV", figures, 60)).decode("utf-8-sig")))
    )
    variants = Counter(row["variant"] for row in rows)
    assert set(variants) == {"A", "B"} and variants["A"] == 60 - variants["B"]
    b_rows = {row["address"] for row in rows if row["variant"] == "B"}
    assert all(
        (bot.api.messages(int(chat))[0].text or "").startswith("Variant B") for chat in b_rows
    )
    assert clock.now() == START  # decided by hand: the waiting time never passed
    card = await pressed(bot, "◀️ To the mailing", figures, "Choice")
    assert "🧪 A/B test: 2 variants of the text" in card.text


async def statistics(bot: BotHarness, mailing_id: int, run_id: int) -> SentMessage:
    opened = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"st:show:{mailing_id}:{run_id}:0", opened.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="A/B test, by", timeout=20)


async def pressed(bot: BotHarness, button: str, card: SentMessage, contains: str) -> SentMessage:
    """The answer to a press (the run's progress message is edited meanwhile)."""
    mark = bot.api.mark(M)
    bot.api.press(M, button, message_id=card.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains=contains, timeout=20)
