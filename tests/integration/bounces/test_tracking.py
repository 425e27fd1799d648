"""Opens and clicks end to end: a mailing launched and sent by the real worker through
aiosmtpd (VERP sender, pixel, rewritten links with UTM tags) and the fake Bot API (URL
buttons through the redirect); the pixel and the links fetched over HTTP from the web
server; a scanner's click, a person's, a tampered token."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.tracking import TrackingWeb
from bot.web import Site, WebServer
from domain.delivery import Channel
from domain.mailings import Mailing
from domain.ports.channels import DeliveryChannel
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.signing import Signer
from domain.tracking import TrackingUrls
from domain.usecases import launch, roles
from domain.usecases.deliver import Worker
from domain.usecases.tracking import Tracker, run_tracking
from domain.users import Role
from infrastructure.channels import SmtpChannel, TelegramChannel
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.repositories import SqlStatsReader
from infrastructure.rendering import JinjaRenderer
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp
from tests.integration.bounces.helpers import SECRET, VERP, delivered_run, table
from tests.integration.test_crash_safety import _Quiet

SALE = "https://shop.example.com/sale?id=7"
BODY = f'Hello {{{{ name }}}}! <a href="{SALE}">Sale</a>, <a href="{{{{ own }}}}">yours</a>'
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


@pytest.fixture
async def site(uow_factory: UnitOfWorkFactory) -> AsyncIterator[tuple[str, Tracker]]:
    site = Site()
    # The base URL is known once the server listens: the tracker's URLs are set then.
    tracker = Tracker(uow_factory, TrackingUrls(Signer(SECRET), "http://unused"))
    TrackingWeb(tracker).install(site)
    server = WebServer(site, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    tracker.urls = TrackingUrls(Signer(SECRET), base)
    yield base, tracker
    await server.stop()


async def launched(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, mailing: Mailing, values: list[str]
) -> int:
    kind = AddressKind.email if mailing.channel is Channel.email else AddressKind.telegram
    await roles.grant_role(uow_factory, _Quiet(), actor_id=None, target_id=1, role=Role.manager)
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"list {mailing.name}", 1))
        assert rlist.id is not None
        ids = []
        for value in values:
            address = await uow.addresses.upsert(Address(kind, value, {"own": SALE + "&me=1"}))
            assert address.id is not None
            ids.append(address.id)
        await uow.members.add_members(rlist.id, ids)
        mailing.list_ids = [rlist.id]
        await uow.mailings.add(mailing)
        await uow.commit()
    assert mailing.id is not None
    run = await launch.launch(
        uow_factory,
        SqlDeliveryQueue(engine),
        JinjaRenderer(),
        actor_id=1,
        mailing_id=mailing.id,
        available=frozenset({mailing.channel}),
    )
    assert run.id is not None
    return run.id


def worker(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    channel: DeliveryChannel,
    urls: TrackingUrls,
) -> Worker:
    return Worker(
        queue=SqlDeliveryQueue(engine),
        channels={Channel.email: channel, Channel.telegram: channel},
        renderer=JinjaRenderer(),
        uow_factory=uow_factory,
        tracking=urls,
    )


async def a_minute_passes(engine: AsyncEngine) -> None:
    """The deliveries were recorded a minute ago: a click now is a person's."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE deliveries SET updated_at = :t"),
            {"t": datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)},
        )


async def test_email_opens_and_clicks_are_counted_through_the_pixel_and_the_redirect(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, site: tuple[str, Tracker]
) -> None:
    base, tracker = site
    urls = tracker.urls
    mailing = Mailing(
        owner_id=1, name="Осенняя распродажа", channel=Channel.email, subject="Sale",
        body=BODY, options={"utm": True},
    )  # fmt: skip
    run_id = await launched(uow_factory, db_engine, mailing, ["ann@example.com"])
    async with FakeSmtp() as relay:
        smtp = SmtpChannel(relay.host, relay.port, security="none", sender="n@news.example.com",
                           verp=VERP)  # fmt: skip
        assert await worker(uow_factory, db_engine, smtp, urls).run_once() == 1
        await smtp.close()
    mail = relay.messages[0]
    delivery_id = (await table(db_engine, "SELECT id FROM deliveries"))[0]["id"]
    assert mail.mail_from == VERP.address(delivery_id)  # bounces come back to the delivery
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"{base}/o/" in html and f'href="{SALE}"' not in html  # tracked
    assert SALE.replace("&", "&amp;") + "&amp;me=1" in html  # personalised: untracked
    pixel = re.search(r'src="([^"]+/o/[^"]+)"', html)
    link = re.search(r'href="([^"]+/c/[^"]+)"', html)
    assert pixel and link
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(pixel.group(1)) as got:
                assert got.status == 200 and got.content_type == "image/gif"
        async with http.get(link.group(1), allow_redirects=False) as scanner:
            assert scanner.status == 302  # a scanner within a second still gets there
        await tracker.flush()  # the web server does it every 0.2 s
        await a_minute_passes(db_engine)
        for _ in range(2):
            async with http.get(link.group(1), allow_redirects=False) as person:
                assert person.status == 302
                target = person.headers["Location"]
        assert target.startswith(SALE + "&utm_source=mailforge&utm_medium=email")
        assert "utm_campaign=osennyaya-rasprodazha" in target
        forged = link.group(1)[:-3] + ("aaa" if not link.group(1).endswith("aaa") else "bbb")
        async with http.get(forged, allow_redirects=False) as bad:
            assert bad.status == 404 and "Location" not in bad.headers
            assert "not valid" in await bad.text()
        other = urls.click_url(run_id, delivery_id, 5)  # genuine MAC, a link it never had
        async with http.get(other, allow_redirects=False) as missing:
            assert missing.status == 404
    await tracker.flush()  # the web server does it every 0.2 s
    tracking = await run_tracking(SqlStatsReader(db_engine), run_id)
    assert tracking is not None
    found = tracking.engagement
    assert (found.opened, found.clicked, found.clicks, found.bot_clicks) == (1, 1, 2, 1)
    [sale] = tracking.links
    assert (sale.url, sale.clicks, sale.unique_clicks, sale.bot_clicks) == (SALE, 2, 1, 1)


async def test_telegram_url_buttons_go_through_the_redirect(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, site: tuple[str, Tracker]
) -> None:
    base, tracker = site
    urls = tracker.urls
    buttons = [[{"text": "Open", "url": "https://shop.example.com/app"}]]
    mailing = Mailing(
        owner_id=1, name="Buttons", channel=Channel.telegram, body="Hi",
        options={"buttons": buttons, "utm": True},
    )  # fmt: skip
    run_id = await launched(uow_factory, db_engine, mailing, ["700100"])
    async with FakeBotAPI() as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot(TOKEN, session=session)
        channel = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
        try:
            assert await worker(uow_factory, db_engine, channel, urls).run_once() == 1
        finally:
            await bot.session.close()
        [sent] = api.messages(700100)
    assert sent.reply_markup is not None
    url = sent.reply_markup["inline_keyboard"][0][0]["url"]
    assert url.startswith(f"{base}/c/")
    await a_minute_passes(db_engine)
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as got:
        assert got.status == 302
        assert got.headers["Location"] == (
            "https://shop.example.com/app?utm_source=mailforge&utm_medium=telegram"
            "&utm_campaign=buttons"
        )
    await tracker.flush()  # the web server does it every 0.2 s
    tracking = await run_tracking(SqlStatsReader(db_engine), run_id)
    assert tracking is not None and tracking.engagement.clicked == 1
    assert tracking.engagement.opened == 0  # Telegram tells nothing about opens


async def test_a_batch_of_clicks_counts_each_person_once_per_link_and_in_all(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    """Many clicks flushed at once (set-based statements), then more in a second flush."""
    people = [f"p{i}@example.com" for i in range(30)]
    run_id, ids = await delivered_run(uow_factory, db_engine, people)
    links = ["https://shop.example.com/a", "https://shop.example.com/b"]
    content = {"mailing_id": 1, "mailing_name": "M", "channel": "email", "body": "",
               "links": links}  # fmt: skip
    async with db_engine.begin() as conn:
        await conn.execute(
            text("UPDATE mailing_runs SET content = :c WHERE id = :r"),
            {"c": json.dumps(content), "r": run_id},
        )
    urls = TrackingUrls(Signer(SECRET), "https://bot.example.com")
    tracker = Tracker(uow_factory, urls)
    later = datetime.now(UTC) + timedelta(minutes=5)  # a person's pace, not a scanner's

    async def click(value: str, index: int) -> None:
        token = urls.click_url(run_id, ids[value], index).rsplit("/", 1)[1]
        assert await tracker.click(token, later) == links[index]

    for value in people:  # everyone clicks a twice, the first ten b once
        await click(value, 0)
        await click(value, 0)
    for value in people[:10]:
        await click(value, 1)
    assert await tracker.flush() == 70
    for value in people[:5] + people[20:]:  # a second batch: b is new to the last ten
        await click(value, 1)
    assert await tracker.flush() == 15

    tracking = await run_tracking(SqlStatsReader(db_engine), run_id)
    assert tracking is not None
    e = tracking.engagement
    assert (e.clicked, e.clicks, e.bot_clicks) == (30, 85, 0)
    a, b = tracking.links
    assert (a.clicks, a.unique_clicks, b.clicks, b.unique_clicks) == (60, 30, 25, 20)
    per_delivery = await table(db_engine, "SELECT clicks FROM delivery_tracking")
    assert sorted(row["clicks"] for row in per_delivery) == [2] * 10 + [3] * 15 + [4] * 5
