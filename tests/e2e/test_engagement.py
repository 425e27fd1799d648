"""After sending, through the running bot: an email mailing through aiosmtpd and a
Telegram mailing through the fake Bot API, the open pixel and the links fetched over HTTP
from the bot's own web server, a hard bounce read from a real IMAP server (pymap), then
the statistics screens, the per-recipient export and ``/healthz`` show all of it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import aioimaplib
import pytest
from openpyxl import load_workbook

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from infrastructure.db.repositories import SqlStatsReader
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_stats import assert_real_png
from tests.e2e.test_webhook_mode import free_port
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.imap_server import ImapServer
from tests.fakes.smtp import FakeSmtp
from tests.integration.bounces.helpers import SAMPLES

M = 2302
ANN, BOB = "ann@example.com", "bob@example.com"
READER = 7_560_001
SALE = "https://shop.example.com/sale?id=7"
APP = "https://shop.example.com/app"
IMAP_USER, IMAP_PASSWORD = "bounces", "imap-secret"
SCANNER_WINDOW = 1.1  # s: a click sooner after delivery is a link scanner's


@dataclass
class World:
    bot: BotHarness
    smtp: FakeSmtp
    imap: ImapServer
    base: str  # the bot's web server (PUBLIC_BASE_URL)


@pytest.fixture
async def world(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[World]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ImapServer(IMAP_USER, IMAP_PASSWORD) as imap:
        async with (
            FakeSmtp() as smtp,
            running_bot(
                fake_api,
                migrated_pg_url,
                web_port=port,
                public_base_url=base,
                smtp_host=smtp.host,
                smtp_port=smtp.port,
                smtp_security="none",
                smtp_from="News <news@news.example.com>",
                bounce_address="bounces@news.example.com",
                bounce_imap_url=f"imap://{IMAP_USER}:{IMAP_PASSWORD}@127.0.0.1:{imap.port}/INBOX",
            ) as bot,
        ):
            await asyncio.wait_for(bot.app.web.listening.wait(), 30)
            await grant(bot, M)
            yield World(bot, smtp, imap, base)


async def add_mailing(
    bot: BotHarness, mailing: Mailing, kind: AddressKind, values: list[str]
) -> int:
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"{mailing.name} readers", M))
        assert rlist.id is not None
        ids = [(await uow.addresses.upsert(Address(kind, v))).id or 0 for v in values]
        await uow.members.add_members(rlist.id, ids)
        mailing.list_ids = [rlist.id]
        await uow.mailings.add(mailing)
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def open_card(bot: BotHarness, mailing_id: int, name: str) -> SentMessage:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains=name)


async def launch(bot: BotHarness, mailing_id: int, name: str) -> None:
    card = await open_card(bot, mailing_id, name)
    mark = bot.api.mark(M)
    bot.api.press(M, "🚀 Launch", message_id=card.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=20)


async def statistics(bot: BotHarness, mailing_id: int, name: str) -> SentMessage:
    card = await open_card(bot, mailing_id, name)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=card.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)


async def engagement(
    bot: BotHarness, figures: SentMessage
) -> tuple[SentMessage, list[SentMessage]]:
    """The "Opens & clicks" screen, and the photos (a chart) sent before it."""
    mark = bot.api.mark(M)
    bot.api.press(M, "📬 Opens & clicks", message_id=figures.message_id)
    screen = await bot.api.wait_for_message(M, since=mark, contains="Opens and clicks", timeout=20)
    photos = [
        m for m in bot.api.messages(M) if m.seq > mark and m.kind == "photo"
    ]  # fmt: skip
    return screen, photos


async def clicks_counted(bot: BotHarness, mailing_id: int, clicks: int) -> None:
    """Wait until the web server has counted ``clicks`` clicks (by people or by link
    scanners) of the mailing's last run: it stores them every 0.2 s."""
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None and run.id is not None
    reader = SqlStatsReader(bot.app.db.engine)
    async with asyncio.timeout(10):
        while True:
            counted = await reader.engagement(run.id)
            if counted.clicks + counted.bot_clicks >= clicks:
                return
            await asyncio.sleep(0.05)


async def get(url: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as http:
        response = await http.get(url, allow_redirects=False)
        await response.read()
        return response


async def bounce_back(imap: ImapServer, envelope_sender: str) -> None:
    """The recipient's server refuses the mail after the relay took it: its DSN lands in
    the bounce mailbox, addressed to the mail's own envelope sender (VERP)."""
    raw = (SAMPLES / "postfix_user_unknown.eml").read_bytes()
    raw = raw.replace(b"@@VERP@@", envelope_sender.encode())
    client = aioimaplib.IMAP4(host="127.0.0.1", port=imap.port, timeout=10)
    await client.wait_hello_from_server()
    assert (await client.login(IMAP_USER, IMAP_PASSWORD)).result == "OK"
    assert (await client.append(raw, mailbox="INBOX")).result == "OK"
    await client.logout()


async def test_one_bots_mail_and_telegram_engagement_from_bad_input_to_exports(
    world: World, fake_api: FakeBotAPI, migrated_pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One bot, its relay and its bounce mailbox for every engagement case (each started
    all three, six times): bad input first, while nothing is counted yet, then an email
    mailing's opens, clicks and bounce, the dialog's tracking switches, and a Telegram
    mailing's button clicks, tracking edit and a forged button. ``/healthz`` counts over
    the whole life of the bot: its figures after the bad input include that input's."""
    await bad_input_is_logged_shown_in_healthz_and_counts_nothing(
        world, fake_api, migrated_pg_url, caplog
    )
    await opens_clicks_and_a_bounce_show_in_statistics_export_and_healthz(world)
    await the_dialog_switches_tracking_and_utm_for_an_email_mailing(world)
    await the_tracking_step_edits_one_mailing_from_its_card(world)
    await a_telegram_buttons_click_is_counted_and_opens_are_not(world)
    await another_managers_forged_button_shows_nothing(world)


async def opens_clicks_and_a_bounce_show_in_statistics_export_and_healthz(world: World) -> None:
    bot = world.bot
    body = f'Hello! <a href="{SALE}">Autumn sale</a>'
    mailing_id = await add_mailing(
        bot,
        Mailing(owner_id=M, name="Autumn sale", channel=Channel.email, subject="Sale",
                body=body, options={"utm": True}),
        AddressKind.email,
        [ANN, BOB],
    )  # fmt: skip
    await launch(bot, mailing_id, "Autumn sale")
    mail = {m.rcpt_tos[0]: m for m in world.smtp.messages}
    assert set(mail) == {ANN, BOB}
    html = mail[ANN].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    pixel = re.search(r'src="([^"]+/o/[^"]+)"', html)
    link = re.search(r'href="([^"]+/c/[^"]+)"', html)
    assert pixel and link and pixel.group(1).startswith(world.base)
    assert (
        mail[BOB].mail_from.startswith("bounces+") and mail[BOB].mail_from != mail[ANN].mail_from
    )

    await asyncio.sleep(SCANNER_WINDOW)  # Ann reads the letter, then clicks
    assert (await get(pixel.group(1))).status == 200
    clicked = await get(link.group(1))
    assert clicked.status == 302
    assert clicked.headers["Location"] == (
        f"{SALE}&utm_source=mailforge&utm_medium=email&utm_campaign=autumn-sale"
    )
    assert (await get(link.group(1)[:-2] + "zz")).status == 404  # tampered: counts nothing
    await bounce_back(world.imap, mail[BOB].mail_from)
    assert bot.app.bounces is not None
    assert await bot.app.bounces.poll() == 1  # the reader's loop would, within a minute
    await clicks_counted(bot, mailing_id, 1)

    health = json.loads(await (await get(f"{world.base}/healthz")).text())
    assert health["bounce_reader"]["state"] == "ok"
    # with the malformed and the forged (unknown) DSN and the forged pixel read before
    assert health["bounce_reader"]["by_kind"] == {"malformed": 1, "unknown": 1, "hard": 1}
    assert health["tracking"]["opens"] == 1 and health["tracking"]["clicks"] == 1
    assert health["tracking"]["refused_tokens"] == 2

    figures = await statistics(bot, mailing_id, "Autumn sale")
    assert "✅ Delivered: 1" in figures.text and "🚫 Refused: 1" in figures.text
    assert "Bounced after delivery: 1 (counted as refused)" in figures.text
    screen, photos = await engagement(bot, figures)
    assert len(photos) == 1
    assert_real_png(photos[0])  # clicks per link
    for line in (
        "✅ Delivered: 1",
        "👁 Opened: 1 (100.0%)",
        "🖱 Clicked: 1 · click rate 100.0% · clicks in all: 1",
        "Opens are approximate",
        f"1. {SALE} — 1 / 1",
        "Bounced after delivery: 1",
    ):
        assert line in screen.text, (line, screen.text)

    mark = bot.api.mark(M)
    bot.api.press(M, "CSV", message_id=figures.message_id)
    document = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: m.kind == "document", timeout=20
    )
    assert document.file is not None
    rows = {
        row["address"]: row
        for row in csv.DictReader(io.StringIO(document.file.content.decode("utf-8-sig")))
    }
    assert rows[ANN]["status"] == "delivered" and rows[ANN]["clicks"] == "1"
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", rows[ANN]["opened_utc"])
    assert rows[ANN]["bounce"] == ""
    assert rows[BOB]["status"] == "refused" and rows[BOB]["bounce"] == "hard"
    assert "5.1.1" in rows[BOB]["bounce_reason"] and rows[BOB]["opened_utc"] == ""

    mark = bot.api.mark(M)
    bot.api.press(M, "XLSX", message_id=figures.message_id)
    document = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: m.kind == "document", timeout=20
    )
    assert document.file is not None
    book = load_workbook(io.BytesIO(document.file.content), read_only=True)
    header, *cells = list(book.active.iter_rows(values_only=True))
    sheet = {row[0]: dict(zip(header, row, strict=True)) for row in cells}
    assert isinstance(sheet[ANN]["opened_utc"], datetime) and sheet[ANN]["clicks"] == 1
    assert sheet[BOB]["bounce"] == "hard" and sheet[BOB]["clicks"] == 0


async def a_telegram_buttons_click_is_counted_and_opens_are_not(world: World) -> None:
    bot = world.bot
    mailing_id = await add_mailing(
        bot,
        Mailing(owner_id=M, name="App news", channel=Channel.telegram, body="New app!",
                options={"buttons": [[{"text": "Open", "url": APP}]]}),
        AddressKind.telegram,
        [str(READER)],
    )  # fmt: skip
    await launch(bot, mailing_id, "App news")
    [sent] = bot.api.messages(READER)
    assert sent.reply_markup is not None
    url = sent.reply_markup["inline_keyboard"][0][0]["url"]
    assert url.startswith(f"{world.base}/c/")
    await asyncio.sleep(SCANNER_WINDOW)
    followed = await get(url)
    assert followed.status == 302 and followed.headers["Location"] == APP  # UTM is off
    await clicks_counted(bot, mailing_id, 1)

    figures = await statistics(bot, mailing_id, "App news")
    screen, _photos = await engagement(bot, figures)
    assert "🖱 Clicked: 1 · click rate 100.0% · clicks in all: 1" in screen.text
    assert "Opened" not in screen.text
    assert "Telegram does not tell bots who read a message" in screen.text
    assert f"1. {APP} — 1 / 1" in screen.text


async def stored(bot: BotHarness, name: str) -> Mailing:
    async with bot.app.db.uow_factory() as uow:
        found = await uow.mailings.search(owner_id=M, status=None, page=0, size=10)
    [mailing] = [m for m in found.items if m.name == name]
    return mailing


async def the_dialog_switches_tracking_and_utm_for_an_email_mailing(world: World) -> None:
    bot = world.bot
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Mail readers", M))
        ann = await uow.addresses.upsert(Address(AddressKind.email, ANN))
        assert rlist.id is not None and ann.id is not None
        await uow.members.add_members(rlist.id, [ann.id])
        await uow.commit()
    await bot.say(M, "/new", language_code="en")
    await bot.say(M, "Осенняя распродажа", language_code="en")
    await bot.press(M, "✉️ Email (SMTP)")
    await bot.say(M, "Sale", language_code="en")
    mark = bot.api.mark(M)
    bot.api.send_text(
        M,
        "See the sale",
        language_code="en",
        entities=[{"type": "text_link", "offset": 8, "length": 4, "url": SALE}],
    )
    step = await bot.api.wait_for_message(M, since=mark, contains="Tracking and UTM tags")
    assert "utm_campaign=osennyaya-rasprodazha" in step.text
    assert step.buttons[:2] == ["📈 Tracking: on", "🏷 UTM tags: off"]
    off = await bot.press(M, "📈 Tracking: on")
    assert off.buttons[:2] == ["📈 Tracking: off", "🏷 UTM tags: off"]
    on = await bot.press(M, "🏷 UTM tags: off")
    assert on.buttons[:3] == ["📈 Tracking: off", "🏷 UTM tags: on", "✏️ utm_content: —"]
    ask = await bot.press(M, "✏️ utm_content: —")
    assert "Type utm_content" in ask.text
    refused = await bot.say(M, "x" * 101, language_code="en")
    assert "at most 100 characters" in refused.text
    again = await bot.say(M, "hero", language_code="en")
    assert "✏️ utm_content: hero" in again.buttons
    lists_step = await bot.press(M, "Next ➡️", message_id=again.message_id)
    assert "Who should get it?" in lists_step.text
    await bot.press(M, "▫️ Mail readers (1)")
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    await bot.api.wait_for_message(M, since=mark, contains="ready for launch")
    mailing = await stored(bot, "Осенняя распродажа")
    tracking = {k: mailing.options.get(k) for k in ("tracking", "utm", "utm_content")}
    assert tracking == {"tracking": False, "utm": True, "utm_content": "hero"}

    assert mailing.id is not None
    earlier = len(world.smtp.messages)  # the autumn sale's
    await launch(bot, mailing.id, "Осенняя распродажа")
    [letter] = world.smtp.messages[earlier:]
    html = letter.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "/o/" not in html and "/c/" not in html  # not tracked: straight to the site
    assert (
        "https://shop.example.com/sale?id=7&amp;utm_source=mailforge&amp;utm_medium=email"
        "&amp;utm_campaign=osennyaya-rasprodazha&amp;utm_content=hero"
    ) in html

    figures = await statistics(bot, mailing.id, "Осенняя распродажа")
    screen, photos = await engagement(bot, figures)
    assert "Tracking was off for this mailing" in screen.text and not photos


async def the_tracking_step_edits_one_mailing_from_its_card(world: World) -> None:
    bot = world.bot
    mailing_id = await add_mailing(
        bot,
        Mailing(owner_id=M, name="Digest", channel=Channel.telegram, body="Hi"),
        AddressKind.telegram,
        [str(READER)],
    )
    card = await open_card(bot, mailing_id, "Digest")
    menu = await bot.press(M, "✏️ Edit", message_id=card.message_id)
    assert "Tracking and UTM" in menu.buttons
    await bot.press(M, "Tracking and UTM", message_id=menu.message_id)
    await bot.press(M, "🏷 UTM tags: off")
    saved = await bot.press(M, "Next ➡️")
    assert "Saved." in saved.text
    assert (await stored(bot, "Digest")).options == {"utm": True}


async def reader_state(bot: BotHarness) -> dict[str, Any]:
    """``/healthz`` once the bot's bounce reader made its first poll (as the bot starts)."""
    url = f"http://127.0.0.1:{bot.app.web.port}/healthz"
    for _ in range(100):
        found: dict[str, Any] = json.loads(await (await get(url)).text())
        if found["bounce_reader"]["state"] != "starting":
            break
        await asyncio.sleep(0.1)
    return found


async def bad_input_is_logged_shown_in_healthz_and_counts_nothing(
    world: World, fake_api: FakeBotAPI, migrated_pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = world.bot
    client = aioimaplib.IMAP4(host="127.0.0.1", port=world.imap.port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(IMAP_USER, IMAP_PASSWORD)
    for name in ("malformed_no_boundary.eml", "forged_token.eml"):
        assert (await client.append((SAMPLES / name).read_bytes(), mailbox="INBOX")).result == "OK"
    await client.logout()
    assert bot.app.bounces is not None
    assert await bot.app.bounces.poll() == 2
    forged_pixel = f"{world.base}/o/1-1-aaaaaaaaaaaaaaaa.gif"
    pixel = await get(forged_pixel)
    assert pixel.status == 200 and pixel.content_type == "image/gif"  # served, not counted

    health = json.loads(await (await get(f"{world.base}/healthz")).text())
    assert health["status"] == "ok"  # a bad message or link degrades nothing
    assert health["bounce_reader"]["state"] == "ok"
    assert health["bounce_reader"]["by_kind"] == {"malformed": 1, "unknown": 1}
    assert health["tracking"]["refused_tokens"] == 1 and health["tracking"]["opens"] == 0
    logged = caplog.text
    assert "not a readable message; nothing counted" in logged
    assert "VERP token is missing, forged or names no delivery; nothing counted" in logged
    assert "Open pixel: unknown or altered token" in logged
    assert (await SqlStatsReader(bot.app.db.engine).engagement(1)).opened == 0

    # A mailbox that refuses the login, then one nobody answers at.
    for url, state in (
        (f"imap://{IMAP_USER}:wrong@127.0.0.1:{world.imap.port}/INBOX", "login refused"),
        (f"imap://{IMAP_USER}:{IMAP_PASSWORD}@127.0.0.1:{free_port()}/INBOX", "unreachable"),
    ):
        async with running_bot(
            fake_api,
            migrated_pg_url,
            web_port=0,
            bounce_address="bounces@news.example.com",
            bounce_imap_url=url,
        ) as other:
            await asyncio.wait_for(other.app.web.listening.wait(), 30)
            found = await reader_state(other)
            assert found["status"] == "ok"  # the bot still sends: no restart wanted
            assert found["bounce_reader"]["state"] == state
            assert IMAP_PASSWORD not in json.dumps(found) and "wrong" not in json.dumps(found)
        assert f"Bounce mailbox: {state}" in caplog.text


async def another_managers_forged_button_shows_nothing(world: World) -> None:
    bot = world.bot
    other = M + 1
    await grant(bot, other)
    mailing_id = await add_mailing(
        bot,
        Mailing(owner_id=M, name="Private", channel=Channel.telegram, body="Hi"),
        AddressKind.telegram,
        [str(READER + 1)],
    )
    await launch(bot, mailing_id, "Private")
    menu = await bot.say(other, "/help", language_code="en")
    answer = await bot.alert(other, f"se:show:{mailing_id}:0", menu.message_id)
    assert answer["text"] == "There is no such mailing, or it is not yours."
    assert not any(m.kind == "photo" for m in bot.api.messages(other))
