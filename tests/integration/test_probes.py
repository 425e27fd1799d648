"""``/healthz`` and ``/metrics`` of the running bot: real database, real engine, the fake
Bot API; the bodies carry counts and states only, never an address, a name or a text."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.probes import Probes
from bot.web import Site, WebServer
from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import launch
from infrastructure.db import create_engine
from infrastructure.db.figures import SqlFigures
from infrastructure.rendering import JinjaRenderer
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.test_crash_safety import wait_completed
from tests.support.db import drop_database, fresh_pg_database, upgrade

MANAGER = 3003
# Personal data that must never show in a probe: chat ids, names, the message text.
READERS = {913_577_201: "Zinaida Prokofyevna", 913_577_202: "Evlampiy Gorchakov", 913_577_203: "X"}
BODY = "Secret sale for {{ name }} only"


async def base_url(bot: BotHarness) -> str:
    await asyncio.wait_for(bot.app.web.listening.wait(), 30)
    return f"http://127.0.0.1:{bot.app.web.port}"


async def get(url: str) -> tuple[int, str, str]:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text body, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[BotHarness]:
    async with FakeBotAPI() as api, running_bot(api, database_url) as harness:
        yield harness


async def launch_to_readers(bot: BotHarness) -> int:
    await grant(bot, MANAGER)
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("VIP", MANAGER))
        assert rlist.id is not None
        ids = []
        for chat, name in READERS.items():
            address = await uow.addresses.upsert(
                Address(AddressKind.telegram, str(chat), {"name": name})
            )
            assert address.id is not None
            ids.append(address.id)
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=MANAGER,
                name="Sale",
                channel=Channel.telegram,
                body=BODY,
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    run = await launch.launch(
        bot.app.db.uow_factory,
        bot.app.delivery.queue,
        JinjaRenderer(),
        actor_id=MANAGER,
        mailing_id=mailing.id,
        available=frozenset({Channel.telegram}),
    )
    assert run.id is not None
    return run.id


async def test_metrics_show_a_real_run_by_channel_and_status(bot: BotHarness) -> None:
    blocked = 913_577_203
    bot.api.block(blocked)  # 403 → refused
    bot.api.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=913_577_201)
    run_id = await launch_to_readers(bot)
    await wait_completed(bot.app.db.engine, run_id, within=30)

    status, ctype, body = await get(await base_url(bot) + "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    found = samples(body)

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    assert value("mailforge_messages", channel="telegram", status="delivered") == 2
    assert value("mailforge_messages", channel="telegram", status="refused") == 1
    assert value("mailforge_messages", channel="telegram", status="failed") == 0
    assert value("mailforge_messages", channel="email", status="delivered") == 0
    assert value("mailforge_runs", status="completed") == 1
    assert value("mailforge_queue_depth") == 0
    assert value("mailforge_database_up") == 1
    assert value("mailforge_telegram_retry_after_total") == 1  # the one 429 above
    assert value("mailforge_run_duration_seconds_count") == 1
    assert value("mailforge_run_duration_seconds_bucket", le="+Inf") == 1
    assert value("mailforge_run_duration_seconds_sum") >= 0
    for chat, name in READERS.items():
        assert str(chat) not in body and name not in body
    assert "Secret sale" not in body


async def test_healthz_is_ok_with_database_scheduler_and_workers(bot: BotHarness) -> None:
    await launch_to_readers(bot)  # data in the database that must not leak
    status, ctype, body = await get(await base_url(bot) + "/healthz")
    assert (status, ctype.split(";")[0]) == (200, "application/json")
    found = json.loads(body)
    assert found.pop("tracking")["state"] == "ok"  # the pixel and redirect (no check)
    assert found == {
        "status": "ok",
        "checks": {"database": "ok", "scheduler": "ok", "workers": "ok"},
    }
    for chat, name in READERS.items():
        assert str(chat) not in body and name not in body


async def test_a_stopped_scheduler_fails_the_health_check(bot: BotHarness) -> None:
    url = await base_url(bot)  # serving: the scheduler has started
    bot.app.scheduler.stop()
    status, _, body = await get(url + "/healthz")
    assert status == 503
    assert json.loads(body)["checks"] == {
        "database": "ok",
        "scheduler": "down",
        "workers": "ok",
    }


async def test_a_dropped_database_turns_healthz_503_and_database_up_0() -> None:
    url = await fresh_pg_database()
    await upgrade(url)
    try:
        async with FakeBotAPI() as api, running_bot(api, url) as bot:
            assert (await get(await base_url(bot) + "/healthz"))[0] == 200
            await drop_database(url)  # WITH (FORCE): every connection of the bot is cut
            status, _, body = await get(await base_url(bot) + "/healthz")
            assert status == 503
            checks = json.loads(body)["checks"]
            assert checks["database"] == "unreachable" and checks["scheduler"] == "ok"
            assert "mailforge_test" not in body  # not even the database's name
            status, _, metrics = await get(await base_url(bot) + "/metrics")
            assert status == 200  # a scrape still answers, and says the database is down
            assert samples(metrics)[("mailforge_database_up", ())] == 0
    finally:
        await drop_database(url)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (a hung database)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    sock: socket.socket = server.sockets[0]
    yield sock.getsockname()[1]
    server.close()


async def test_a_database_that_does_not_answer_times_out_the_health_check(
    silent_port: int,
) -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{silent_port}/none")
    figures = SqlFigures(engine)
    site = Site()
    # A silent server never answers: any timeout shows it (3 s in production).
    Probes(figures.ping, Metrics(figures), {}, ping_timeout=0.3).install(site)
    server = WebServer(site, "127.0.0.1", 0)
    await server.start()
    try:
        status, _, body = await get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
        await engine.dispose()
    assert status == 503
    assert json.loads(body) == {
        "status": "fail",
        "checks": {"database": "timeout"},
    }
