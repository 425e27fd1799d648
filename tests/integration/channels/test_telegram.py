"""TelegramChannel with the real aiogram Bot against the fake Bot API over HTTP."""

from __future__ import annotations

import itertools
import json
import socket
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BufferedInputFile
from aiohttp import web
from redis.asyncio import Redis

from domain.delivery import Outcome, SendResult
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.ratelimit_redis import RedisRateLimiter
from infrastructure.channels.telegram import UNCERTAIN, TelegramChannel, TelegramSession
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.channels.conftest import TOKEN
from tests.integration.channels.support import by_id, content, messages, outcomes
from tests.support.redis import new_prefix

pytestmark = pytest.mark.asyncio

TG = AddressKind.telegram


def channel(bot: Bot, **kwargs: Any) -> TelegramChannel:
    kwargs.setdefault("rate", 1000.0)
    kwargs.setdefault("per_chat_interval", 0.0)
    return TelegramChannel(bot, **kwargs)


async def test_formatting_buttons_and_options_reach_telegram(api: FakeBotAPI, bot: Bot) -> None:
    buttons = [
        [{"text": "Site", "url": "https://example.com"}],
        [{"text": "Docs", "url": "https://example.com/d"}],
    ]
    run = content(
        Channel.telegram,
        options={"silent": True, "protect": True, "link_preview": False, "buttons": buttons},
    )
    batch = messages(TG, ["11", "12"], "<b>Hello</b>, <i>Ann</i> https://example.com")

    results = await channel(bot).send(run, batch)

    assert all(r.outcome is Outcome.delivered for r in results)
    sent = api.last_message(11)
    assert sent is not None and sent.kind == "text"
    assert sent.text == "Hello, Ann https://example.com"
    assert {e["type"] for e in sent.entities or []} == {"bold", "italic"}
    assert sent.button_rows == [["Site"], ["Docs"]]
    assert sent.inline_buttons[0]["url"] == "https://example.com"
    assert sent.options["disable_notification"] == "true"
    assert sent.options["protect_content"] == "true"
    assert json.loads(sent.options["link_preview_options"])["is_disabled"] is True
    assert by_id(results)[1].provider_id == str(sent.message_id)


async def test_photo_goes_with_the_body_as_caption(api: FakeBotAPI, bot: Bot) -> None:
    upload = await bot.send_photo(999, BufferedInputFile(b"\x89PNG fake", "p.png"))
    assert upload.photo is not None
    run = content(Channel.telegram, media={"type": "photo", "file_id": upload.photo[-1].file_id})

    results = await channel(bot).send(run, messages(TG, ["21"], "<b>Look</b>"))

    assert outcomes(results) == {1: Outcome.delivered}
    sent = api.last_message(21)
    assert sent is not None and sent.kind == "photo"
    assert sent.caption == "Look"
    assert sent.file_id == upload.photo[-1].file_id


async def test_document_goes_with_the_body_as_caption_and_the_buttons(
    api: FakeBotAPI, bot: Bot
) -> None:
    upload = await bot.send_document(999, BufferedInputFile(b"%PDF fake", "price.pdf"))
    assert upload.document is not None
    file_id = upload.document.file_id
    buttons = [[{"text": "Shop", "url": "https://example.org/shop"}]]
    media = {"type": "document", "file_id": file_id}
    run = content(Channel.telegram, media=media, options={"buttons": buttons, "silent": True})

    results = await channel(bot).send(run, messages(TG, ["22", "23"], "<i>Prices</i>"))

    assert outcomes(results) == {1: Outcome.delivered, 2: Outcome.delivered}
    for chat in (22, 23):
        sent = api.last_message(chat)
        assert sent is not None and sent.kind == "document"
        assert sent.caption == "Prices" and sent.file_id == file_id
        assert sent.inline_buttons[0]["url"] == "https://example.org/shop"
        assert sent.options["disable_notification"] == "true"


async def test_permanent_errors_are_classified(api: FakeBotAPI, bot: Bot) -> None:
    api.block(31)
    api.deactivate(32)
    api.forget_chat(33)
    batch = messages(TG, ["31", "32", "33", "34", "oops"])
    batch[3] = batch[3].__class__(batch[3].outbound, None, "<b>broken")

    results = by_id(await channel(bot).send(content(Channel.telegram), batch))

    assert results[1].outcome is Outcome.refused
    assert "blocked" in (results[1].error or "")
    assert results[2].outcome is Outcome.refused
    assert results[3].outcome is Outcome.failed
    assert "chat not found" in (results[3].error or "")
    assert results[4].outcome is Outcome.failed
    assert "parse entities" in (results[4].error or "")
    assert results[5].outcome is Outcome.failed


async def test_server_error_is_retried_later(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=500)
    tg = channel(bot)

    first = await tg.send(content(Channel.telegram), messages(TG, ["41"]))
    assert outcomes(first) == {1: Outcome.retry}
    assert first[0].answer_lost  # it may have gone out: a later delivery may be a repeat
    second = await tg.send(content(Channel.telegram), messages(TG, ["41"]))
    assert outcomes(second) == {1: Outcome.delivered}
    assert api.sent_count("sendMessage", 41) == 1


async def test_a_server_error_with_retry_after_waits_for_the_engines_backoff(
    api: FakeBotAPI, bot: Bot
) -> None:
    """aiogram reads any answer with ``retry_after`` as a flood wait and the channel would
    send again in place within a second; a 5xx goes back to the queue instead."""
    api.fail_next("sendMessage", error_code=500, retry_after=1)
    tg = channel(bot)

    results = await tg.send(content(Channel.telegram), messages(TG, ["42"]))
    assert outcomes(results) == {1: Outcome.retry}
    assert results[0].answer_lost and results[0].retry_after is None
    assert api.request_count("sendMessage") == 1  # not sent again in place
    assert api.sent_count("sendMessage", 42) == 0


async def send_to_server(answer: web.Response) -> list[SendResult]:
    """One message sent to a server that answers every request with ``answer``."""

    async def serve(request: web.Request) -> web.Response:
        return answer

    app = web.Application()
    app.router.add_post("/{path:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    session = TelegramSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}"))
    try:
        return await channel(Bot(TOKEN, session=session)).send(
            content(Channel.telegram), messages(TG, ["44"])
        )
    finally:
        await session.close()
        await runner.cleanup()


async def test_a_proxys_error_page_is_a_server_error_not_an_unreadable_answer() -> None:
    """A front proxy's HTML 502 (no JSON at all) is a 5xx like any other: retried later,
    not failed for good as an unreadable answer."""
    page = web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
    results = await send_to_server(page)
    assert outcomes(results) == {1: Outcome.retry} and results[0].answer_lost
    assert (results[0].error or "").startswith("HTTP 502")


@pytest.mark.parametrize(
    "body",
    [
        '{"ok": true, "result": {"chat": {"id": 44}}}',  # a Message without its id
        '{"ok": true, "result": {"message_id": 7.5}}',  # an id that is no integer
        "<html>OK</html>",  # a 200 that is no JSON at all
    ],
)
async def test_a_success_that_is_not_a_sent_message_is_unreadable_never_resent(
    body: str,
) -> None:
    """A 200 whose body is not the ``Message`` Telegram documents may still mean the
    message went out: failed as uncertain, never sent again."""
    results = await send_to_server(web.Response(status=200, text=body))
    assert outcomes(results) == {1: Outcome.failed} and not results[0].answer_lost
    assert (results[0].error or "").startswith("uncertain: unreadable answer")


async def test_a_message_whose_answer_is_lost_is_sent_again_and_marked(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.lose_answer_next("sendMessage", chat_id=43)
    tg = channel(bot)

    first = await tg.send(content(Channel.telegram), messages(TG, ["43"]))
    assert outcomes(first) == {1: Outcome.retry} and first[0].answer_lost
    second = await tg.send(content(Channel.telegram), messages(TG, ["43"]))
    assert outcomes(second) == {1: Outcome.delivered}
    assert api.sent_count("sendMessage", 43) == 2  # the at-least-once cost


async def test_connection_refused_is_retry(bot: Bot) -> None:
    dead = AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9"), timeout=0.5)
    offline = Bot(TOKEN, session=dead)
    try:
        results = await channel(offline).send(content(Channel.telegram), messages(TG, ["1"]))
    finally:
        await dead.close()
    assert outcomes(results) == {1: Outcome.retry}


async def test_timeout_after_sending_is_uncertain_and_never_resent(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.hang_next("sendMessage")

    results = await channel(bot).send(content(Channel.telegram), messages(TG, ["51", "52"]))

    got = by_id(results)
    assert got[1].outcome is Outcome.failed and got[1].error == UNCERTAIN
    assert got[2].outcome is Outcome.delivered
    assert api.request_count("sendMessage") == 2


# How many chats over a 10-a-second limit: the fast loop's quick check meets one 429
# pause; the longer proof, two of them, is slow.
OVER_TEN = [pytest.param(15, id="15"), pytest.param(25, id="25", marks=pytest.mark.slow)]


@pytest.mark.parametrize("count", OVER_TEN)
async def test_429_is_waited_out_and_nothing_is_lost_or_doubled(
    api: FakeBotAPI, bot: Bot, count: int
) -> None:
    api.set_rate_limit(10, retry_after=1)
    chats = [str(1000 + n) for n in range(count)]

    heard: list[float] = []
    tg = channel(bot, rate=100.0, on_retry_after=heard.append)
    results = await tg.send(content(Channel.telegram), messages(TG, chats))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert api.request_count("sendMessage") > count  # some were answered 429
    assert all(api.sent_count("sendMessage", int(c)) == 1 for c in chats)
    # every 429 reaches the hook (the metrics counter), with Telegram's retry_after
    assert heard == [1.0] * (api.request_count("sendMessage") - count)


# Messages at 20 a second: the fast loop's quick check spans 1.5 s, the slow proof 3 s.
AT_TWENTY = [pytest.param(30, id="30"), pytest.param(60, id="60", marks=pytest.mark.slow)]


@pytest.mark.parametrize("count", AT_TWENTY)
async def test_limiter_holds_the_global_rate(api: FakeBotAPI, bot: Bot, count: int) -> None:
    chats = [str(2000 + n) for n in range(count)]

    results = await channel(bot, rate=20.0).send(content(Channel.telegram), messages(TG, chats))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    times = sorted(api.send_times)
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert busiest <= 21
    assert times[-1] - times[0] >= (count - 1) / 20 - 0.45  # 60 at 20/s take about 3 s


async def test_per_chat_interval_spaces_messages_to_one_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.per_chat_limit = 4  # over 4 a second in one chat the fake answers 429
    tg = channel(bot, per_chat_interval=0.25)

    results = await tg.send(content(Channel.telegram), messages(TG, ["61"] * 4))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    times = sorted(api.send_times)
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(times))


async def test_a_long_flood_wait_is_handed_back_as_retry(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=30)

    results = await channel(bot, max_wait=1.0).send(
        content(Channel.telegram), messages(TG, ["71", "72"])
    )

    got = by_id(results)
    assert {r.outcome for r in got.values()} <= {Outcome.retry, Outcome.delivered}
    waited = [r for r in got.values() if r.outcome is Outcome.retry]
    assert waited and all(29 <= (r.retry_after or 0) <= 30 for r in waited)
    assert api.request_count("sendMessage") <= 2  # nothing sent twice while paused


async def test_an_unreachable_shared_limiter_sends_nothing_and_hands_back(
    api: FakeBotAPI, bot: Bot
) -> None:
    with socket.socket() as sock:  # a port nobody listens on: Redis is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(client, f"{new_prefix()}:tg:1", 30.0, max_outage=0.3)
    tg = TelegramChannel(bot, limiter=limiter)

    results = by_id(await tg.send(content(Channel.telegram), messages(TG, ["11", "12"])))
    await tg.close()

    assert {r.outcome for r in results.values()} == {Outcome.retry}
    assert all("rate limiter" in (r.error or "") for r in results.values())
    assert api.sent_count("sendMessage") == 0
