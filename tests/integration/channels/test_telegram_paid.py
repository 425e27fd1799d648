"""TelegramChannel's lanes against the fake Bot API: fast (paid broadcast) runs carry
``allow_paid_broadcast`` and go past the free 30/s; free runs never carry it and stay
within 30/s whatever the configured rate; after 429s the channel goes on at the rate the
server was found to allow. Rates are not timed here (bench/delivery.py prints them): the
fake's own counts show who got what and that nothing was lost or doubled."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.types import BufferedInputFile

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.ratelimit import MemoryRateLimiter
from infrastructure.channels.telegram import TelegramChannel
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.channels.support import content, messages, outcomes

pytestmark = pytest.mark.asyncio

TG = AddressKind.telegram


def chats(first: int, count: int) -> list[str]:
    return [str(first + n) for n in range(count)]


def flags(api: FakeBotAPI, method: str) -> set[str | None]:
    return {call.get("allow_paid_broadcast") for call in api.calls(method)}


async def test_a_fast_run_flags_every_kind_of_send_as_a_paid_broadcast(
    api: FakeBotAPI, bot: Bot
) -> None:
    photo = await bot.send_photo(999, BufferedInputFile(b"\x89PNG fake", "p.png"))
    doc = await bot.send_document(999, BufferedInputFile(b"%PDF fake", "a.pdf"))
    assert photo.photo is not None and doc.document is not None
    photo_id, doc_id = photo.photo[-1].file_id, doc.document.file_id
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
    runs = [
        content(Channel.telegram, paid=True),
        content(Channel.telegram, paid=True, media={"type": "photo", "file_id": photo_id}),
        content(Channel.telegram, paid=True, media={"type": "document", "file_id": doc_id}),
    ]

    for n, run in enumerate(runs):
        results = await tg.send(run, messages(TG, chats(100 + 10 * n, 3)))
        assert set(outcomes(results).values()) == {Outcome.delivered}

    assert flags(api, "sendMessage") == {"true"}
    # the uploads above were the bot's own sends, not broadcasts: only the runs' are flagged
    assert [c.get("allow_paid_broadcast") for c in api.calls("sendPhoto")] == [None] + ["true"] * 3
    assert [c.get("allow_paid_broadcast") for c in api.calls("sendDocument")] == [None] + [
        "true"
    ] * 3
    assert api.paid_sends == 9


async def test_a_free_run_is_never_flagged_and_stays_within_30_a_second(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.set_rate_limit(30, retry_after=5)  # Telegram's free limit, with a long penalty
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)

    results = await tg.send(content(Channel.telegram), messages(TG, chats(200, 45)))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert flags(api, "sendMessage") == {None}
    assert api.rate_report()["throttled"] == 0  # 1000/s configured, yet never over 30/s
    assert api.paid_sends == 0


async def test_a_fast_run_at_a_rate_within_the_free_limit_is_not_flagged(
    api: FakeBotAPI, bot: Bot
) -> None:
    tg = TelegramChannel(bot, rate=30.0, per_chat_interval=0.0)

    await tg.send(content(Channel.telegram, paid=True), messages(TG, chats(300, 3)))

    assert flags(api, "sendMessage") == {None}  # nothing to pay for at 30/s


async def test_a_fast_run_goes_past_the_free_limit_and_is_charged_above_it(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.set_rate_limit(30, retry_after=5)
    api.set_stars(100)
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)

    results = await tg.send(content(Channel.telegram, paid=True), messages(TG, chats(400, 120)))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    report = api.rate_report()
    assert report["throttled"] == 0
    assert report["busiest_second"] > 30  # beyond the free limit, as paid for
    charged = api.charged / 1e9
    assert 0 < charged <= 12.0 + 1e-9  # at most 0.1 Star for each of 120 messages
    assert api.stars == 100 * 10**9 - api.charged
    balance = await bot.get_my_star_balance()
    assert balance.amount * 10**9 + (balance.nanostar_amount or 0) == api.stars


async def test_a_fast_run_keeps_enough_sends_in_flight_for_its_rate(
    api: FakeBotAPI, bot: Bot
) -> None:
    """A send holds its runner for its round trip: with the free lane's 32 runners a slow
    server would cap 1000/s at 32 a round trip. The paid lane has runners of its own,
    enough for a tenth of a second of its rate."""
    api.set_stars(100)
    api.delay = 0.2  # every answer takes 0.2 s
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0, concurrency=32)

    results = await tg.send(content(Channel.telegram, paid=True), messages(TG, chats(500, 150)))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert api.rate_report()["throttled"] == 0
    assert len(api.send_ports) > 32  # more sends at once than the free lane's runners


@pytest.mark.parametrize(
    "scale",  # of 150 fast and 60 free sends at 60 a second: 1.75 s, or the slow proof's 3.5
    [pytest.param(0.5, id="half"), pytest.param(1.0, id="whole", marks=pytest.mark.slow)],
)
async def test_free_sends_beside_a_fast_run_count_in_the_fast_lane(
    api: FakeBotAPI, bot: Bot, scale: float
) -> None:
    """The paid limit counts every send of the bot, the free ones too (``bot_api_limits``):
    a free run sent beside a fast one takes its share of the fast lane's second."""
    api.set_rate_limit(30, retry_after=5)
    api.paid_limit = 60
    api.set_stars(100)
    tg = TelegramChannel(bot, rate=60.0, per_chat_interval=0.0)

    fast, free = await asyncio.gather(
        tg.send(content(Channel.telegram, paid=True), messages(TG, chats(600, int(150 * scale)))),
        tg.send(content(Channel.telegram), messages(TG, chats(900, int(60 * scale)))),
    )

    assert set(outcomes(fast).values()) | set(outcomes(free).values()) == {Outcome.delivered}
    assert api.rate_report()["throttled"] == 0


async def test_after_a_429_storm_the_channel_goes_on_at_the_servers_real_limit(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.storm(50, retry_after=1)  # the server allows 50/s; the bot believes 200/s
    paid = MemoryRateLimiter(200.0)
    heard: list[float] = []
    tg = TelegramChannel(
        bot, rate=200.0, per_chat_interval=0.0, paid_limiter=paid, on_retry_after=heard.append
    )
    recipients = chats(10_000, 200)

    results = await tg.send(content(Channel.telegram, paid=True), messages(TG, recipients))

    assert set(outcomes(results).values()) == {Outcome.delivered}  # nobody lost
    assert all(api.sent_count("sendMessage", int(c)) == 1 for c in recipients)  # nor doubled
    assert paid.rate <= 50  # learned from the server's answers...
    assert paid.rate >= 40  # ...not collapsed to a fraction of it
    # one episode of 429s (the requests in flight when the first came back), not one per
    # second: the channel did not burst into the limit again after the pause
    assert len(heard) <= 32
    assert api.rate_report()["violations"] == 0  # every retry_after waited out
