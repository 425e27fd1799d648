"""Benchmark: the delivery engine on PostgreSQL against loopback fakes, each figure with
its ratio to a bare baseline measured in the same run.

    .venv/bin/python bench/delivery.py            # 20,000 / 20,000 / 3,000 / 1,000,000
    .venv/bin/python bench/delivery.py --quick    # 500 / 500 / 90 / 20,000 (the test suite)
    .venv/bin/python bench/delivery.py --only limited         # just the 30/s part

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), migrates it,
and measures:

1. email: N recipients through ``SqlDeliveryQueue`` + ``Worker`` + ``SmtpChannel`` (several
   workers in this process, as the bot runs them) against a bare aiosmtplib loop with the
   same pool size and the same rendered messages and no database;
2. Telegram without a rate limit at the fake: the engine with ``TelegramChannel`` against
   a bare loop of ``bot.send_message`` with the same concurrency;
3. Telegram with the fake enforcing 30 messages/s: the rate achieved, the 429s answered
   and whether each was waited out, and nothing lost (counted at the fake);
4. a launch of a big run (snapshot time), then the bot — a real ``mailforge run`` process
   with its embedded workers, as deployed — sending the first part of it: the peak RSS of
   that process at two points;
5. meanwhile ``/start`` from a stranger every so often: the time until the reply arrives
   at the fake, p95.

The fakes (aiosmtpd, ``tests.fakes.bot_api.FakeBotAPI``) run in child processes so their
CPU does not compete inside this event loop. Drops its database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import statistics
import sys
import tempfile
import textwrap
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiosmtplib
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from aiogram import Bot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot as _slim_aiogram  # noqa: F401  (before aiogram, as `mailforge run` imports it)
from bench.args import bench_args
from bench.delivery_fakes import BULK_CHAT_BASE, FakeProcess
from bench.memory import RssSampler
from domain.delivery import Message, Outbound, RunContent
from domain.mailings import Channel, Mailing
from domain.ports.channels import DeliveryChannel
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import AddressKind, RecipientList
from domain.usecases import roles
from domain.usecases.deliver import Worker, recipient_values_of
from domain.usecases.launch import launch
from infrastructure.channels import SmtpChannel, TelegramChannel
from infrastructure.channels.smtp_message import LetterWriter
from infrastructure.channels.telegram import SendMessageForId
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer
from tests.support.db import drop_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # noqa: S105 (the fake's)
ADMIN = 1001
STRANGER = 424242
SENDER = "MailForge Bench <news@bench.test>"
WORKERS = 4  # engine tasks in this process
SMTP_POOL = 8  # SmtpChannel's default
TG_CONCURRENCY = 32  # TelegramChannel's default
BODY = "<b>Hello</b>, {{ address }}! Our <i>news</i> of the week: <a href='https://example.org'>read</a>."
SUBJECT = "News for {{ address }}"
MB = 1024 * 1024
PARTS = ("email", "telegram", "limited", "bot")


@dataclass(frozen=True)
class Sizes:
    email: int
    telegram: int
    limited: int
    launch: int
    checkpoints: tuple[int, int]
    probes: int
    probe_interval: float
    rounds: int  # alternating bare/engine rounds of the ratio parts: the median counts
    batch: int = 1000  # the most a worker claims at once (DELIVERY_BATCH_SIZE), every part


QUICK = Sizes(500, 500, 90, 20_000, (500, 5_000), 20, 0.2, rounds=1)
FULL = Sizes(20_000, 20_000, 3_000, 1_000_000, (20_000, 200_000), 20, 2.0, rounds=3)


@dataclass
class Paired:
    """Seconds of bare and engine rounds run one after the other, ``n`` messages each.

    On a shared machine the speed drifts by ±10 % within a minute; a ratio of two
    neighbouring runs, taken several times, says more than one pair. The verdict is on the
    median ratio; every round is printed, and so is the CPU this process spent per message
    (the fakes and PostgreSQL run in other processes): less noisy than the rates, and it
    tells the engine's own cost apart from waiting."""

    n: int
    bare: list[float] = dataclasses.field(default_factory=list)
    engine: list[float] = dataclasses.field(default_factory=list)
    bare_cpu: list[float] = dataclasses.field(default_factory=list)
    engine_cpu: list[float] = dataclasses.field(default_factory=list)

    async def time_bare(self, run: Awaitable[float]) -> None:
        await _timed(run, self.bare, self.bare_cpu)

    async def time_engine(self, run: Awaitable[float]) -> None:
        await _timed(run, self.engine, self.engine_cpu)

    def ratios(self) -> list[float]:
        return [b / e for b, e in zip(self.bare, self.engine, strict=True)]

    def summary(self, label: str, *, judged: bool = True) -> str:
        ratio = statistics.median(self.ratios())
        engine, bare = statistics.median(self.engine), statistics.median(self.bare)
        rounds = len(self.engine)
        median = f"median of {rounds} rounds; " if rounds > 1 else ""
        lines = [
            f"{label}: engine {self.n / engine:,.0f} msg/s · bare {self.n / bare:,.0f} msg/s · "
            f"ratio {ratio:.2f}"
            + (
                f" ({median}target ≥ 0.8, {verdict(ratio >= 0.8)})"
                if judged
                else f" ({median}no target)"
            )
        ]
        if rounds > 1:
            each = " · ".join(
                f"{r:.2f} ({self.n / e:,.0f}/{self.n / b:,.0f})"
                for r, e, b in zip(self.ratios(), self.engine, self.bare, strict=True)
            )
            lines.append(f"  rounds (ratio, engine/bare msg/s): {each}")
        engine_us = statistics.median(self.engine_cpu) / self.n * 1e6
        bare_us = statistics.median(self.bare_cpu) / self.n * 1e6
        lines.append(
            f"  CPU of this process per message: engine {engine_us:.0f} µs · bare {bare_us:.0f} µs"
        )
        return "\n".join(lines)


async def _timed(run: Awaitable[float], walls: list[float], cpus: list[float]) -> None:
    """The seconds ``run`` reports, and the CPU this process spent meanwhile."""
    cpu = time.process_time()
    walls.append(await run)
    cpus.append(time.process_time() - cpu)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- data ----------------------------------------------------------------------------------


def email_of(i: int) -> str:
    return f"user{i}@bench.test"


def chat_of(i: int) -> str:
    return str(BULK_CHAT_BASE + i)


async def add_list(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory, kind: AddressKind, start: int, count: int
) -> int:
    """``count`` generated addresses in a new list, in one INSERT…SELECT generate_series."""
    async with uow_factory() as uow:
        rlist = await uow.lists.add(
            RecipientList(name=f"bench {kind.value} {start}", owner_id=ADMIN)
        )
        await uow.commit()
    assert rlist.id is not None
    if kind is AddressKind.email:
        value = "'user' || g || '@bench.test'"
    else:
        value = f"CAST({BULK_CHAT_BASE} + g AS TEXT)"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "WITH a AS (INSERT INTO addresses (kind, value)"  # noqa: S608 (constants only)
                f" SELECT :kind, {value}"
                " FROM generate_series(CAST(:lo AS BIGINT), CAST(:hi AS BIGINT)) AS g"
                " RETURNING id)"
                " INSERT INTO list_members (list_id, address_id)"
                " SELECT CAST(:list_id AS BIGINT), id FROM a"
            ),
            {"kind": kind.value, "lo": start, "hi": start + count - 1, "list_id": rlist.id},
        )
        await conn.execute(text("ANALYZE addresses"))
        await conn.execute(text("ANALYZE list_members"))
    return rlist.id


async def add_mailing(uow_factory: UnitOfWorkFactory, channel: Channel, list_id: int) -> int:
    async with uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=ADMIN,
                name=f"bench {channel.value} {list_id}",
                channel=channel,
                body=BODY,
                subject=SUBJECT if channel is Channel.email else None,
                list_ids=[list_id],
                # above 30/s only a fast mailing goes faster than Telegram's free limit
                fast=channel is Channel.telegram,
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def prepared_run(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory, channel: Channel, start: int, count: int
) -> tuple[int, float]:
    """A launched run of ``count`` recipients; returns its id and the launch time."""
    kind = AddressKind.email if channel is Channel.email else AddressKind.telegram
    list_id = await add_list(engine, uow_factory, kind, start, count)
    mailing_id = await add_mailing(uow_factory, channel, list_id)
    return await timed_launch(engine, uow_factory, mailing_id, count)


async def timed_launch(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory, mailing_id: int, count: int
) -> tuple[int, float]:
    """Launch the mailing (snapshot of ``count`` recipients): the run id and the time."""
    started = time.perf_counter()
    run = await launch(
        uow_factory,
        SqlDeliveryQueue(engine),
        JinjaRenderer(),
        actor_id=ADMIN,
        mailing_id=mailing_id,
        available=frozenset(Channel),
    )
    elapsed = time.perf_counter() - started
    assert run.id is not None and run.totals.pending == count, run
    return run.id, elapsed


async def run_engine(
    engine: AsyncEngine,
    uow_factory: UnitOfWorkFactory,
    channel: Channel,
    adapter: DeliveryChannel,
    run_id: int,
    batch: int,
) -> float:
    """Send the run with ``WORKERS`` workers in this loop; seconds from start to finish."""
    done = asyncio.Event()

    async def finished(run_ids: list[int]) -> None:
        if run_id in run_ids:
            done.set()

    worker = Worker(
        queue=SqlDeliveryQueue(engine),
        channels={channel: adapter},
        renderer=JinjaRenderer(),
        uow_factory=uow_factory,
        on_finished=finished,
        batch_size=batch,
    )
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(worker.run_forever(stop, idle=0.02)) for _ in range(WORKERS)]
    try:
        await done.wait()
        return time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def run_totals(uow_factory: UnitOfWorkFactory, run_id: int) -> str:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
    assert run is not None
    t = run.totals
    return (
        f"delivered {t.delivered:,}, failed {t.failed:,}, refused {t.refused:,}, "
        f"pending {t.pending:,}"
    )


def messages_for(content: RunContent, kind: AddressKind, values: list[str]) -> list[Message]:
    """The messages the engine would render, built here without a database."""
    renderer = JinjaRenderer()
    found = []
    for i, value in enumerate(values, 1):
        outbound = Outbound(i, 1, i, kind, value, {}, 0)
        context = recipient_values_of(outbound)
        subject = renderer.render(content.subject, context) if content.subject else None
        found.append(Message(outbound, subject, renderer.render(content.body, context)))
    return found


# -- 1. email ------------------------------------------------------------------------------


async def bare_smtp(port: int, count: int, login: tuple[str, str] | None = None) -> float:
    """``SMTP_POOL`` persistent aiosmtplib connections (with AUTH ``login`` if given); each
    message rendered and built exactly as SmtpChannel builds it, then MAIL/RCPT/DATA. No
    database."""
    content = RunContent(0, "bench", Channel.email, BODY, SUBJECT)
    pending = deque(range(1, count + 1))
    renderer = JinjaRenderer()
    writer = LetterWriter(SENDER)
    mail_from = writer.mail_from

    async def one_connection() -> None:
        username, password = login or (None, None)
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=port,
            start_tls=False,
            local_hostname="bench.test",
            username=username,
            password=password,
        )
        await client.connect()
        try:
            while pending:
                i = pending.popleft()
                outbound = Outbound(i, 1, i, AddressKind.email, email_of(i), {}, 0)
                context = recipient_values_of(outbound)
                message = Message(
                    outbound, renderer.render(SUBJECT, context), renderer.render(BODY, context)
                )
                raw, _ = writer.write(content, message, f"https://u.test/{i}")
                await client.sendmail(mail_from, [outbound.value], raw)
        finally:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(SMTP_POOL)))
    return time.perf_counter() - started


async def bench_email(engine: AsyncEngine, uow_factory: UnitOfWorkFactory, sizes: Sizes) -> None:
    n = sizes.email
    paired = Paired(n)
    counts: list[tuple[int, int]] = []
    smtp = FakeProcess("smtp")
    try:
        for r in range(sizes.rounds):
            await smtp.call("reset")
            await paired.time_bare(bare_smtp(smtp.port, n))
            bare_count = await smtp.call("sent")
            await smtp.call("reset")
            run_id, _ = await prepared_run(engine, uow_factory, Channel.email, 1 + r * n, n)
            channel = SmtpChannel(
                "127.0.0.1",
                smtp.port,
                security="none",
                sender=SENDER,
                pool_size=SMTP_POOL,
                unsubscribe=lambda address_id: f"https://u.test/{address_id}",
                local_hostname="bench.test",
            )
            try:
                await paired.time_engine(
                    run_engine(engine, uow_factory, Channel.email, channel, run_id, sizes.batch)
                )
            finally:
                await channel.close()
            counts.append((await smtp.call("sent"), bare_count))
    finally:
        smtp.close()
    print(paired.summary("email"))
    print(
        f"  {n:,} recipients a round, {WORKERS} workers × batches ≤ {sizes.batch}, "
        f"pool {SMTP_POOL}; at the fake (engine/bare): {at_fake(counts)}; "
        f"last run: {await run_totals(uow_factory, run_id)}"
    )


def at_fake(counts: list[tuple[int, int]]) -> str:
    return " · ".join(f"{engine:,}/{bare:,}" for engine, bare in counts)


# -- 2./3. Telegram ------------------------------------------------------------------------


def make_bot(base_url: str) -> Bot:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


async def bare_telegram(bot: Bot, start: int, count: int, *, lean: bool = False) -> float:
    """``bot.send_message`` with ``TG_CONCURRENCY`` senders; with ``lean`` the request the
    channel sends instead (aiogram's ``SendMessage`` answered with the message id only)."""
    content = RunContent(0, "bench", Channel.telegram, BODY)
    pending = deque(
        messages_for(
            content, AddressKind.telegram, [chat_of(i) for i in range(start, start + count)]
        )
    )

    async def sender() -> None:
        while pending:
            message = pending.popleft()
            chat_id = int(message.outbound.value)
            if lean:
                await bot(SendMessageForId(chat_id=chat_id, text=message.body, parse_mode="HTML"))
            else:
                await bot.send_message(chat_id=chat_id, text=message.body, parse_mode="HTML")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(TG_CONCURRENCY)))
    return time.perf_counter() - started


async def bench_telegram(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory, api: FakeProcess, sizes: Sizes
) -> None:
    base_url = f"http://127.0.0.1:{api.port}"
    n = sizes.telegram
    paired = Paired(n)
    lean = Paired(n)  # the same engine rounds against a bare loop of the channel's request
    counts: list[tuple[int, int]] = []
    bot = make_bot(base_url)
    await api.call("set_paid_limit", None)  # no limit at all: the engine's own cost
    try:
        for r in range(sizes.rounds):
            await api.call("reset")
            await lean.time_bare(bare_telegram(bot, 30_000_001 + r * n, n, lean=True))
            await api.call("reset")
            await paired.time_bare(bare_telegram(bot, 10_000_001 + r * n, n))
            bare_count = await api.call("sent")
            await api.call("reset")
            run_id, _ = await prepared_run(engine, uow_factory, Channel.telegram, 1 + r * n, n)
            channel = TelegramChannel(bot, rate=100_000, concurrency=TG_CONCURRENCY)
            await paired.time_engine(
                run_engine(engine, uow_factory, Channel.telegram, channel, run_id, sizes.batch)
            )
            counts.append((await api.call("sent"), bare_count))
        await api.call("set_paid_limit", 1000)
        lean.engine, lean.engine_cpu = paired.engine, paired.engine_cpu
        print(paired.summary("telegram (no limit)"))
        print(
            "  the engine's own cost, against a bare loop of the channel's leaner request "
            "(the answer read as its message id only, not a whole Message):"
        )
        print(textwrap.indent(lean.summary("  lean", judged=False), "  "))
        print(
            f"  {n:,} recipients a round, {WORKERS} workers × batches ≤ {sizes.batch}, "
            f"concurrency {TG_CONCURRENCY}; at the fake (engine/bare): {at_fake(counts)}; "
            f"last run: {await run_totals(uow_factory, run_id)}"
        )
    finally:
        await bot.session.close()


async def bench_telegram_limited(
    engine: AsyncEngine, uow_factory: UnitOfWorkFactory, api: FakeProcess, sizes: Sizes
) -> None:
    """3. the fake allows 30 messages/s"""
    bot = make_bot(f"http://127.0.0.1:{api.port}")
    try:
        m = sizes.limited
        await api.call("reset")
        await api.call("set_rate_limit", 30)
        run_id, _ = await prepared_run(engine, uow_factory, Channel.telegram, 20_000_001, m)
        limited = TelegramChannel(bot, rate=30, concurrency=TG_CONCURRENCY)
        elapsed = await run_engine(
            engine, uow_factory, Channel.telegram, limited, run_id, sizes.batch
        )
        stats = await api.call("rate_stats", 0.05)
        await api.call("set_rate_limit", None)
        accepted = stats["accepted"]
        span = (stats["last"] - stats["first"]) if accepted > 1 else 0.0
        at_fake = (accepted - 1) / span if span > 0 else float("nan")
        lost = m - accepted
        ok = lost == 0 and stats["violations"] == 0 and 28 <= at_fake <= 30.5
        print(
            f"telegram (fake limit 30/s): {at_fake:.1f} msg/s at the fake "
            f"({m / elapsed:.1f} msg/s end to end) over {m:,} recipients; "
            f"busiest 1-s window {stats['busiest_second']}; "
            f"429 answered {stats['throttled']}, sent inside a retry_after {stats['violations']}; "
            f"delivered at the fake {accepted:,}, lost {lost} "
            f"(target ≥ 28 msg/s, every 429 honoured, none lost: {verdict(ok)})"
        )
        print(f"  run: {await run_totals(uow_factory, run_id)}")
    finally:
        await bot.session.close()


# -- 4./5. a big launch in the bot process -------------------------------------------------


async def bench_bot(
    url: str, engine: AsyncEngine, uow_factory: UnitOfWorkFactory, api: FakeProcess, sizes: Sizes
) -> None:
    n = sizes.launch
    await api.call("reset")
    list_started = time.perf_counter()
    list_id = await add_list(engine, uow_factory, AddressKind.telegram, 100_000_001, n)
    generated = time.perf_counter() - list_started
    mailing_id = await add_mailing(uow_factory, Channel.telegram, list_id)

    async with bot_process(url, api, sizes.batch) as pid:
        sampler = RssSampler(pid=pid)
        before = sampler.sample()
        await checkpoint(engine)
        _, snapshot = await timed_launch(engine, uow_factory, mailing_id, n)
        print(
            f"launch {n:,} recipients: snapshot {snapshot:.2f} s "
            f"(target ≤ 10 s, {verdict(snapshot <= 10)}); list generated in {generated:.1f} s"
        )

        first, last = sizes.checkpoints
        rss_at: dict[int, tuple[int, int]] = {}
        latencies: list[float | None] = []
        send_started = time.perf_counter()
        sent = 0
        with sampler.running():
            probes = asyncio.create_task(probe(api, sizes, latencies))
            while sent < last:
                await asyncio.sleep(0.1)
                sent = await api.call("sent")
                for mark in (first, last):
                    if sent >= mark and mark not in rss_at:
                        rss_at[mark] = (sampler.sample(), sampler.peak)
            send_elapsed = time.perf_counter() - send_started
            await probes

    (cur1, peak1), (cur2, peak2) = rss_at[first], rss_at[last]
    grew = peak2 - peak1
    ok = peak2 <= 150 * MB and grew <= 10 * MB
    print(
        f"worker RSS: peak {peak1 / MB:.0f} MB at {first:,} sent, "
        f"{peak2 / MB:.0f} MB at {last:,} sent "
        f"(now {cur1 / MB:.0f} / {cur2 / MB:.0f} MB; before sending {before / MB:.0f} MB; "
        f"growth {grew / MB:+.0f} MB) (target ≤ 150 MB, not growing, {verdict(ok)})"
    )
    print(
        f"  `mailforge run` process: {WORKERS} embedded workers × batches ≤ {sizes.batch}, "
        "telegram_rate 1000; "
        f"{sent:,} sent in {send_elapsed:.1f} s ({sent / send_elapsed:,.0f} msg/s incl. start-up)"
    )
    answered = sorted(x for x in latencies if x is not None)
    missing = sum(1 for x in latencies if x is None)
    if answered:
        p95 = answered[max(0, round(0.95 * len(answered)) - 1)]
        print(
            f"/start while sending: p95 {p95 * 1000:.0f} ms, median "
            f"{statistics.median(answered) * 1000:.0f} ms, max {answered[-1] * 1000:.0f} ms over "
            f"{len(answered)} replies, {missing} unanswered "
            f"(target p95 ≤ 200 ms, {verdict(p95 <= 0.2 and not missing)})"
        )
    else:
        print(f"/start while sending: no reply to {missing} probes (target p95 ≤ 200 ms, MISSED)")


async def checkpoint(engine: AsyncEngine) -> None:
    """Write out what generating the list left dirty, so that the snapshot's time is its
    own and not partly the flushing of the list's million rows (CHECKPOINT needs a
    superuser or pg_checkpoint; without that the figure includes the flushing)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await conn.execute(text("CHECKPOINT"))
        except DBAPIError as exc:
            print(f"  (no CHECKPOINT before the launch: {exc.orig})")


@asynccontextmanager
async def bot_process(url: str, api: FakeProcess, batch: int) -> AsyncIterator[int]:
    """``mailforge run`` in a child process on ``url`` against the fake; yields its pid
    once it answers ``/start``, stops it with SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=url,
        TELEGRAM_API_URL=f"http://127.0.0.1:{api.port}",
        ADMIN_IDS=str(ADMIN),
        WEB_PORT="0",
        WORKERS=str(WORKERS),
        DELIVERY_BATCH_SIZE=str(batch),
        TELEGRAM_RATE="1000",
        LOG_LEVEL="WARNING",
    )
    with tempfile.TemporaryFile() as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=log, stderr=log, cwd=ROOT
        )
        try:
            for _ in range(60):
                if await api.call("probe", STRANGER, 1.0) is not None:
                    break
                if proc.returncode is not None:
                    break
            else:
                raise RuntimeError("the bot did not answer /start within a minute")
            if proc.returncode is not None:
                log.seek(0)
                raise RuntimeError(f"the bot exited: {log.read().decode()[-2000:]}")
            yield proc.pid
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def probe(api: FakeProcess, sizes: Sizes, latencies: list[float | None]) -> None:
    """``/start`` from a stranger every ``probe_interval`` once sending has begun."""
    while await api.call("sent") == 0:  # noqa: ASYNC110 (the count lives in another process)
        await asyncio.sleep(0.05)
    for _ in range(sizes.probes):
        latencies.append(await api.call("probe", STRANGER, 5.0))
        await asyncio.sleep(sizes.probe_interval)


# -- main ----------------------------------------------------------------------------------


async def bench(sizes: Sizes, server_url: str, parts: frozenset[str]) -> None:
    url = await fresh_pg_database(server_url, prefix="mailforge_bench")
    try:
        await upgrade(url)
        engine = create_engine(url)
        try:
            uow_factory = make_uow_factory(create_session_factory(engine))
            await roles.ensure_admins(uow_factory, [ADMIN])
            if "email" in parts:
                await bench_email(engine, uow_factory, sizes)
            api = FakeProcess("botapi")
            try:
                if "telegram" in parts:
                    await bench_telegram(engine, uow_factory, api, sizes)
                if "limited" in parts:
                    await bench_telegram_limited(engine, uow_factory, api, sizes)
                if "bot" in parts:
                    await bench_bot(url, engine, uow_factory, api, sizes)
            finally:
                api.close()
        finally:
            await engine.dispose()
    finally:
        await drop_database(url, server_url)


def main() -> None:
    args = bench_args(__doc__, "small sizes (the test suite)", parts_args)
    if args.e2e:
        from bench.delivery_e2e import E2E_FULL, E2E_PARTS, E2E_QUICK, bench_e2e

        e2e_parts = frozenset(args.e2e_only or E2E_PARTS)
        e2e_sizes = E2E_QUICK if args.quick else E2E_FULL
        e2e_sizes = dataclasses.replace(e2e_sizes, rounds=args.rounds or e2e_sizes.rounds)
        asyncio.run(bench_e2e(e2e_sizes, args.pg_url, e2e_parts))
        return
    sizes = QUICK if args.quick else FULL
    if args.limited:
        sizes = dataclasses.replace(sizes, limited=args.limited)
    parts = frozenset(args.only or PARTS)
    sizes = dataclasses.replace(sizes, batch=args.batch, rounds=args.rounds or sizes.rounds)
    asyncio.run(bench(sizes, args.pg_url, parts))


def parts_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--e2e",
        action="store_true",
        help="the end-to-end mode instead: a real `mailforge run` driven through the fake Bot "
        "API (bench/delivery_e2e.py)",
    )
    parser.add_argument(
        "--e2e-only",
        action="append",
        choices=("free", "paid", "email", "storm", "crash", "big"),
        help="with --e2e, run only this part (repeatable)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable): email, telegram (no limit), "
        "limited (the fake enforcing 30/s), bot (big launch, RSS, /start latency)",
    )
    parser.add_argument(
        "--limited", type=int, metavar="N", help="recipients of the 30/s part (3,000; quick: 90)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=FULL.batch,
        metavar="N",
        help="the most recipients a worker claims at once, in every part (DELIVERY_BATCH_SIZE: "
        f"{FULL.batch}); within it batches are sized to about 1 s of sending",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help="alternating bare/engine rounds of the email and Telegram ratios (with --e2e: "
        f"of the email ratio); the median counts ({FULL.rounds}; quick: {QUICK.rounds})",
    )


if __name__ == "__main__":
    main()
