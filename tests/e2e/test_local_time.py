"""Local time through the bot, on a fake clock the handlers and the workers share: a
mailing at 10:00 in each recipient's zone reaches three zones (and the default) each at
its hour, across the night Berlin moves to summer time; quiet hours hold a launch back
per zone until morning."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.recipients import Address, AddressKind, RecipientList
from infrastructure.db.wakeup import NOTIFY
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI

M = 2002
ZONES: dict[int, dict[str, Any]] = {
    7101: {"name": "Masha", "tz": "UTC+3"},  # an offset
    7102: {"name": "Hans", "tz": "Europe/Berlin"},  # an IANA name
    7103: {"name": "Joe", "tz": "New York"},  # a city
    7104: {"name": "Aiko"},  # none: the default zone
}
START = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # Saturday; Berlin's DST starts Sunday


class FakeClock:
    """Read by the bot's handlers and by the workers' thread."""

    def __init__(self, now: datetime) -> None:
        self._now, self._lock = now, threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def staff(
    fake_api: FakeBotAPI, migrated_pg_url: str, clock: FakeClock
) -> AsyncIterator[BotHarness]:
    async with running_bot(fake_api, migrated_pg_url, services={"clock": clock}) as bot:
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("World", M, fields=["name", "tz"]))
            assert rlist.id is not None
            for chat, attributes in ZONES.items():
                address = await uow.addresses.upsert(
                    Address(AddressKind.telegram, str(chat), attributes)
                )
                assert address.id is not None
                await uow.members.add_members(rlist.id, [address.id])
            await uow.commit()
        yield bot


async def open_local_time(bot: BotHarness, name: str) -> None:
    await bot.say(M, "/new", language_code="en")
    await bot.say(M, name, language_code="en")
    await bot.press(M, "✈️ Telegram")
    await bot.say(M, "Good morning, {{ name }}", language_code="en")
    await bot.press(M, "Next ➡️")
    await bot.press(M, "Next ➡️")
    await bot.press(M, "▫️ World (4)")
    await bot.press(M, "🎯 Segment: everyone")
    asked = await bot.press(M, "🕙 Local time: off")
    assert "At what local time" in asked.text


async def launch(bot: BotHarness, name: str) -> None:
    await bot.press(M, "✅ Done")
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    await bot.api.wait_for_message(M, since=mark, contains=f"Preview: {name}")
    mark = len(bot.api.callback_answers)
    bot.api.press(M, "🚀 Launch")
    answer = await bot.api.wait_for_callback_answer(since=mark)
    assert answer["text"] == "Launched!"


async def received(bot: BotHarness) -> set[int]:
    return {chat for chat in ZONES if bot.api.messages(chat)}


async def at(bot: BotHarness, clock: FakeClock, moment: datetime, expected: set[int]) -> None:
    """Move the clock, wake the workers, and see exactly ``expected`` served by now."""
    clock.set(moment)
    async with bot.app.db.engine.begin() as conn:
        await conn.execute(text(NOTIFY))
    for chat in expected:
        await bot.api.wait_for_message(chat, timeout=10)
    await _settled(bot, len(expected))
    assert await received(bot) == expected


async def _settled(bot: BotHarness, delivered: int) -> None:
    """The delivered rows are recorded (so the next clock jump cannot find them in flight)."""
    for _ in range(100):
        async with bot.app.db.engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
            )
        if count == delivered:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} delivered, expected {delivered}")


async def test_ten_oclock_in_each_recipients_zone(staff: BotHarness, clock: FakeClock) -> None:
    bot = staff
    await open_local_time(bot, "Morning")
    wrong = await bot.say(M, "25:00", language_code="en")
    assert "“25:00” is not a time of day" in wrong.text
    fields = await bot.say(M, "10:00", language_code="en")
    assert "Which field holds" in fields.text
    await bot.press(M, "tz")
    wrong = await bot.say(M, "Mars/Olympus", language_code="en")
    assert "There is no time zone “Mars/Olympus”" in wrong.text
    await bot.say(M, "Asia/Tokyo", language_code="en")
    screen = await bot.say(M, "22:00-09:00", language_code="en")
    assert "At 10:00 in each recipient's time zone (field: tz; default: Asia/Tokyo)" in (
        screen.text
    )
    assert "Quiet hours 22:00–09:00" in screen.text
    await launch(bot, "Morning")

    async with bot.app.db.engine.connect() as conn:
        due = dict(
            (
                await conn.execute(
                    text(
                        "SELECT a.value, d.next_attempt_at FROM deliveries d"
                        " JOIN addresses a ON a.id = d.address_id"
                    )
                )
            ).all()
        )
    assert {k: v.astimezone(UTC) for k, v in due.items()} == {
        "7101": datetime(2026, 3, 28, 7, 0, tzinfo=UTC),  # 10:00 at UTC+3
        "7102": datetime(2026, 3, 28, 9, 0, tzinfo=UTC),  # 10:00 CET
        "7103": datetime(2026, 3, 28, 14, 0, tzinfo=UTC),  # 10:00 EDT
        "7104": datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Tokyo's 10:00 passed: tomorrow
    }
    await at(bot, clock, START + timedelta(minutes=30), set())
    await at(bot, clock, datetime(2026, 3, 28, 7, 0, 5, tzinfo=UTC), {7101})
    await at(bot, clock, datetime(2026, 3, 28, 9, 0, 5, tzinfo=UTC), {7101, 7102})
    await at(bot, clock, datetime(2026, 3, 28, 14, 0, 5, tzinfo=UTC), {7101, 7102, 7103})
    await at(bot, clock, datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC), set(ZONES))
    counts = {chat: [m.text for m in bot.api.messages(chat)] for chat in ZONES}
    assert all(len(texts) == 1 for texts in counts.values()), counts  # each exactly once
    assert bot.api.messages(7102)[0].text == "Good morning, Hans"


async def test_quiet_hours_hold_each_zone_until_its_morning(
    staff: BotHarness, clock: FakeClock
) -> None:
    bot = staff
    await open_local_time(bot, "Now")
    await bot.say(M, "-", language_code="en")  # at launch
    await bot.press(M, "tz")
    await bot.say(M, "Asia/Tokyo", language_code="en")
    screen = await bot.say(M, "22:00-09:00", language_code="en")
    assert "At launch, in each recipient's time zone" in screen.text
    await launch(bot, "Now")
    # 06:00 UTC: 09:00 at UTC+3 and 15:00 in Tokyo (awake); 07:00 in Berlin and 02:00 in
    # New York (quiet until 09:00 there).
    await at(bot, clock, START + timedelta(seconds=5), {7101, 7104})
    await at(bot, clock, datetime(2026, 3, 28, 8, 0, 5, tzinfo=UTC), {7101, 7104, 7102})
    await at(bot, clock, datetime(2026, 3, 28, 13, 0, 5, tzinfo=UTC), set(ZONES))
