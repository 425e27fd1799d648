"""``bench/delivery.py --e2e``: delivery measured the way a user runs it.

A real ``mailforge run`` child process (its embedded workers, as deployed) on a fresh
PostgreSQL database, the fake Bot API and an SMTP relay with AUTH each in a process of
their own; a person plays the whole journey through the fake Bot API: uploads the list as
a document, creates the mailing with /new, presses Launch. Every figure is counted at the
fakes and printed beside its bare baseline from the same run:

* Telegram free (the fake enforcing 30/s) and fast (paid, ``TELEGRAM_RATE=1000``): the
  steady rate (the middle 80 % of the sends) against the configured rate and a bare
  aiogram loop paced at that rate, and the time from Launch to the first delivery;
* email (personalised subject and HTML body, AUTH): the steady rate against a bare
  aiosmtplib pool of the same size to the same server;
* a 429 storm (the fake allows 50/s with ``retry_after`` 3, the bot is set to 200/s);
* ``kill -9`` of the bot a third into a run, then a restart: the time to the last of the
  recipients that were in flight, duplicates, losses;
* a big list imported through the bot into a fresh database, ticked in the dialog and
  launched at once: import, tick and first-batch rate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlencode

from sqlalchemy import text

from bench.delivery import (
    ADMIN,
    BULK_CHAT_BASE,
    ROOT,
    SMTP_POOL,
    STRANGER,
    TOKEN,
    FakeProcess,
    verdict,
)
from bench.delivery_fakes import PASSWORD, USER
from infrastructure.db import create_engine
from tests.support.db import drop_database, fresh_pg_database

E2E_PARTS = ("free", "paid", "email", "storm", "crash", "big")
BODY = "Hello {{ name }}! Our news of the week: https://example.org"
HTML_BODY = "<b>Hello</b> {{ name }}! Our <i>news</i> of the week."
SUBJECT = "News for {{ name }}"


@dataclass(frozen=True)
class E2ESizes:
    free: int  # recipients at the free 30/s
    paid: int  # at 1000/s paid
    email: int
    storm: int  # at 200/s against a server allowing 50/s
    crash: int  # at 200/s, killed a third in
    big: int  # imported into a fresh database, then launched
    big_seconds: float  # how long the big run's first rate is watched
    lease: int  # DELIVERY_LEASE_SECONDS of the crash part (300: the default)
    rounds: int  # alternating bare/bot rounds of the email ratio


E2E_QUICK = E2ESizes(90, 2_000, 500, 300, 600, 20_000, 5.0, lease=20, rounds=1)
E2E_FULL = E2ESizes(1_500, 20_000, 5_000, 5_000, 6_000, 1_000_000, 30.0, lease=300, rounds=3)


# -- the bot process and a person in its chat ---------------------------------------------


class Mailforge:
    """``mailforge run`` on ``url`` against the fakes; ``kill9`` and ``start`` again."""

    def __init__(self, url: str, api: FakeProcess, **env: str) -> None:
        self._env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_"))}
        self._env.update(
            BOT_TOKEN=TOKEN,
            DATABASE_URL=url,
            TELEGRAM_API_URL=f"http://127.0.0.1:{api.port}",
            ADMIN_IDS=str(ADMIN),
            WEB_PORT="0",
            LOG_LEVEL="WARNING",
            **env,
        )
        self._api = api
        self._proc: asyncio.subprocess.Process | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self._env, stdout=self._log,
            stderr=self._log, cwd=ROOT,
        )  # fmt: skip
        for _ in range(120):
            if self._proc.returncode is not None:
                self._log.seek(0)
                raise RuntimeError(f"the bot exited: {self._log.read().decode()[-2000:]}")
            if await self._api.call("probe", STRANGER, 1.0) is not None:
                return
        raise RuntimeError("the bot did not answer /start within two minutes")

    def cpu(self) -> float:
        """CPU seconds the process has used."""
        import psutil

        assert self._proc is not None
        times = psutil.Process(self._proc.pid).cpu_times()
        return float(times.user + times.system)

    def kill9(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        elif proc is not None:
            await proc.wait()

    def close(self) -> None:
        self._log.close()


@asynccontextmanager
async def mailforge(url: str, api: FakeProcess, **env: str) -> AsyncIterator[Mailforge]:
    bot = Mailforge(url, api, **env)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
        bot.close()


class Person:
    """The admin in the bot's chat, played through the fake Bot API."""

    def __init__(self, api: FakeProcess) -> None:
        self._api = api

    async def _expect(self, mark: int, expect: str, wait: float) -> str:
        if os.environ.get("BENCH_DEBUG"):
            print(f"  … waiting for {expect!r}", file=sys.stderr, flush=True)
        try:
            found: str = await self._api.call("wait", ADMIN, expect, mark, wait)
        except RuntimeError as exc:
            raise RuntimeError(f"the bot did not answer {expect!r}: {exc}") from None
        return found

    async def say(self, words: str, expect: str, wait: float = 15.0) -> str:
        return await self._expect(await self._api.call("say", ADMIN, words), expect, wait)

    async def press(self, button: str, expect: str, wait: float = 15.0) -> str:
        return await self._expect(await self._api.call("press", ADMIN, button), expect, wait)

    async def tap(self, button: str) -> None:
        """Press a button whose answer is not waited for (Launch: the sends are)."""
        await self._api.call("press", ADMIN, button)

    async def upload(self, name: str, content: bytes, wait: float) -> float:
        """A new list from a file; seconds until the import is reported."""
        mark = await self._api.call("upload", ADMIN, f"{name}.csv", content)
        await self._expect(mark, "Which list", 30.0)
        started = time.perf_counter()
        await self.press("➕ New list", "Import finished", wait)
        return time.perf_counter() - started

    async def new_mailing(
        self, name: str, list_name: str, *, email: bool = False, fast: bool = False
    ) -> float:
        """/new through to the preview; seconds the list took to tick."""
        await self.say("/new", "What should it be called?")
        await self.say(name, "Which channel")
        if email:
            await self.press("✉️ Email (SMTP)", "subject")
            await self.say(SUBJECT, "Send the message")
            await self.say(HTML_BODY, "Tracking and UTM tags")
            await self.press("Next ➡️", "Who should get it?")
        else:
            await self.press("✈️ Telegram", "Send the message")
            await self.say(BODY, "Telegram message options")
            if fast:
                await self.press("⚡ Fast (paid): off", "Telegram message options")
            await self.press("Next ➡️", "Tracking and UTM tags")
            await self.press("Next ➡️", "Who should get it?")
        started = time.perf_counter()
        await self.press(f"▫️ {list_name}", "Will receive", wait=120.0)
        ticked = time.perf_counter() - started
        await self.press("Next ➡️", "When should it go?")
        await self.press("▶️ I will launch it by hand", "Preview:", wait=60.0)
        return ticked


def id_list(first: int, count: int, *, names: bool = True) -> bytes:
    """A CSV of Telegram ids (with a name column unless ``names`` is False: a million
    rows with names pass Telegram's 20 MB download limit for bots)."""
    if not names:
        ids = (f"{BULK_CHAT_BASE + first + i}\n" for i in range(count))
        return ("telegram id\n" + "".join(ids)).encode()
    rows = (f"{BULK_CHAT_BASE + first + i},Reader {i}\n" for i in range(count))
    return ("telegram id,name\n" + "".join(rows)).encode()


def email_list(first: int, count: int) -> bytes:
    rows = (f"user{first + i}@mail.example.org,Reader {i}\n" for i in range(count))
    return ("email,name\n" + "".join(rows)).encode()


# -- figures --------------------------------------------------------------------------------


async def sent_times(
    poll: Callable[[], Awaitable[list[float]]], count: int, limit: float
) -> list[float]:
    """The fake's times of ``count`` sends, polled until they are all in (or ``limit`` s)."""
    deadline = time.monotonic() + limit
    times = await poll()
    while len(times) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        times = await poll()
    return times


def steady(times: list[float]) -> float:
    """Sends a second over the middle 80 % (start-up and the tail left out)."""
    if len(times) < 10:
        return float("nan")
    lo, hi = len(times) // 10, len(times) - 1 - len(times) // 10
    span = times[hi] - times[lo]
    return (hi - lo) / span if span > 0 else float("nan")


async def bare_paced(api: FakeProcess, rate: float, count: int, *, paid: bool) -> Bare:
    """A bare loop that sends one message every 1/``rate`` s (paid or not): the request
    the bot sends (the same text, ``parse_mode`` and flag), its form encoded before the
    loop starts and POSTed with aiohttp over as many keep-alive connections as it needs
    (up to 100), nothing parsed but the status. The cheapest client of the fake there
    is: the ceiling a run's rate can be judged against, its CPU a floor."""
    import aiohttp

    flag = {"allow_paid_broadcast": "true"} if paid else {}
    bodies = [
        urlencode(
            {
                "chat_id": str(BULK_CHAT_BASE + 900_000_000 + i),
                "text": f"Hello Reader {i}! Our news of the week: https://example.org",
                "parse_mode": "HTML",
                **flag,
            }
        ).encode()
        for i in range(count)
    ]
    url = f"http://127.0.0.1:{api.port}/bot{TOKEN}/sendMessage"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    await api.call("reset")
    cpu, fake_cpu = time.process_time(), api.cpu()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def post(body: bytes) -> None:
            async with session.post(url, data=body, headers=form) as resp:
                await resp.read()

        started = time.perf_counter()
        tasks = []
        for i, body in enumerate(bodies):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(body)))
        await asyncio.gather(*tasks, return_exceptions=True)
    cpu = (time.process_time() - cpu) / count * 1e6
    fake_cpu = (api.cpu() - fake_cpu) / count * 1e6
    got = await api.call("bulk")
    return Bare(steady(got["times"]), cpu, fake_cpu)


@dataclass(frozen=True)
class Bare:
    rate: float  # steady msg/s at the fake
    cpu: float  # µs of CPU per message: the client's
    fake_cpu: float  # … and the fake Bot API's


async def run_journey(
    api: FakeProcess, person: Person, name: str, count: int, *, fast: bool, first: int
) -> tuple[list[float], float | None]:
    """Upload ``count`` ids, create the mailing, Launch; the fake's send times and the
    time of the Launch press."""
    await person.upload(name, id_list(first, count), wait=600.0)
    await person.new_mailing(name, name, fast=fast)
    return await launch_and_wait(api, person, count)


async def launch_and_wait(
    api: FakeProcess, person: Person, count: int
) -> tuple[list[float], float | None]:
    """Press Launch on the preview; the fake's send times once ``count`` are in."""
    await api.call("reset")
    await person.tap("🚀 Launch")
    times = await sent_times(lambda: _bulk_times(api), count, limit=count / 10 + 120)
    pressed = (await api.call("bulk"))["pressed_at"]
    return times, pressed


async def _bulk_times(api: FakeProcess) -> list[float]:
    got: list[float] = (await api.call("bulk"))["times"]
    return got


def first_after(times: list[float], pressed: float | None) -> str:
    if not times or pressed is None:
        return "none"
    return f"{times[0] - pressed:.2f} s"


# -- parts --------------------------------------------------------------------------------


async def part_telegram(
    api: FakeProcess, bot: Mailforge, person: Person, sizes: E2ESizes, *, fast: bool, first: int
) -> None:
    rate = 1000.0 if fast else 30.0
    n = sizes.paid if fast else sizes.free
    label = "telegram fast (paid, 1000/s)" if fast else "telegram free (30/s)"
    name = "fast" if fast else "free"
    await person.upload(name, id_list(first, n), wait=600.0)
    await person.new_mailing(name, name, fast=fast)
    load = os.getloadavg()[0]
    cpu, fake_cpu = bot.cpu(), api.cpu()
    times, pressed = await launch_and_wait(api, person, n)
    cpu, fake_cpu = (bot.cpu() - cpu) / n * 1e6, (api.cpu() - fake_cpu) / n * 1e6
    engine = steady(times)
    report = await api.call("rate_stats", 0.05)
    bare = await bare_paced(api, rate, n, paid=fast)
    first_s = times[0] - pressed if times and pressed is not None else float("inf")
    # Paid: at least 0.97 of what is paid for. Free: never over Telegram's 30/s (no 429),
    # at least 0.95 of it (the limiter keeps ~1 message/s of margin).
    wanted = 0.97 if fast else 0.95
    target = f"≥ {wanted} of the rate" + ("" if fast else ", no 429")
    ok = (
        engine >= wanted * rate
        and first_s <= 1.0
        and len(times) == n
        and (fast or report["throttled"] == 0)
    )
    print(
        f"e2e {label}: steady {engine:,.1f} msg/s = {engine / rate:.2f} of the configured "
        f"rate · bare paced loop {bare.rate:,.1f} msg/s = {bare.rate / rate:.2f} · first "
        f"delivery {first_after(times, pressed)} after Launch · {len(times):,}/{n:,} "
        f"delivered, 429 answered {report['throttled']} (target {target}, first ≤ 1 s: "
        f"{verdict(ok)})"
    )
    print(
        f"  CPU per message: the bot process {cpu:.0f} µs, the fake Bot API {fake_cpu:.0f} µs "
        f"· the bare loop {bare.cpu:.0f} µs, the fake {bare.fake_cpu:.0f} µs · load "
        f"{load:.2f} at Launch, {os.getloadavg()[0]:.2f} after the bare loop (2 cores)"
    )
    if fast:
        paid = await api.call("paid")
        print(f"  paid sends {paid['sends']:,}, charged {paid['charged']:.1f} Stars")


async def bare_pool(port: int, count: int, letter: str) -> None:
    """A bare aiosmtplib pool of ``SMTP_POOL`` connections with AUTH, as a hand-written
    sender would do it: each message ``letter`` (``bot_letter``) filled in for its
    recipient, no MIME library, then MAIL/RCPT/DATA."""
    import aiosmtplib

    pending = iter(range(1, count + 1))

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, local_hostname="bench.example.org",
            username=USER, password=PASSWORD,
        )  # fmt: skip
        await client.connect()
        try:
            for i in pending:
                rcpt = f"user{i}@mail.example.org"
                raw = letter.format(user=f"user{i}", name=f"Reader {i}", i=i).encode()
                await client.sendmail("news@bench.example.org", [rcpt], raw)
        finally:
            await client.quit()

    await asyncio.gather(*(one_connection() for _ in range(SMTP_POOL)))


def bot_letter() -> str:
    """The letter ``mailforge run`` writes for this bench's mailing (``SUBJECT``,
    ``HTML_BODY``, tracking on: the open pixel, ``List-Unsubscribe``), written once by
    the bot's own code, with ``str.format`` fields where a recipient's name, mailbox and
    delivery id go. Both sides hand the fake the same letter: aiosmtpd reads DATA a line
    at a time, and the bot's 35-line letter cost it more than the 18-line one the bare
    pool sent before."""
    from bot.web import unsubscribe_url
    from domain.delivery import Message, Outbound, RunContent
    from domain.mailings import Channel
    from domain.personal import render_personal
    from domain.recipients import AddressKind
    from domain.signing import Signer
    from domain.tracking import TrackingUrls
    from infrastructure.channels.smtp_message import LetterWriter
    from infrastructure.rendering import JinjaRenderer

    name, user, delivery, secret = "NAME-MARK", "user-mark", 987654321, b"bench-secret"
    content = RunContent(1, "letters", Channel.email, HTML_BODY, SUBJECT)
    values = {"name": name}
    personal = render_personal(JinjaRenderer(), Channel.email, HTML_BODY, SUBJECT, values)
    mailbox = f"{user}@mail.example.org"
    outbound = Outbound(delivery, 1, delivery, AddressKind.email, mailbox, values, 0)
    base = "http://localhost:8080"
    pixel = TrackingUrls(Signer(secret), base).open_url(1, delivery)
    message = Message(outbound, personal.subject_line, personal.body, open_url=pixel)
    url = unsubscribe_url(base, secret, delivery)
    raw, _ = LetterWriter("MailForge Bench <news@bench.test>").write(content, message, url)
    text = raw.decode("ascii").replace("{", "{{").replace("}", "}}")
    return text.replace(name, "{name}").replace(user, "{user}").replace(str(delivery), "{i}")


async def part_email(
    smtp: FakeProcess, bot: Mailforge, person: Person, sizes: E2ESizes, pg: PgCpu
) -> None:
    """Alternating rounds, bare pool then the bot (a new mailing to the same list each
    round): the machine's speed drifts by ±10 % within a minute, the median ratio counts.
    The CPU per letter is counted for each side: the sending process, the fake relay, and
    the PostgreSQL backends of the bench's database (``pg``); the machine's 2 cores serve
    all three, so their sum bounds the rate."""
    n = sizes.email
    await person.upload("letters", email_list(1, n), wait=600.0)
    rounds: list[Round] = []
    delivered, letter = 0, bot_letter()
    for r in range(sizes.rounds):
        load = os.getloadavg()[0]
        await smtp.call("reset")
        cpu, fake_cpu, db = time.process_time(), smtp.cpu(), pg.take()
        await bare_pool(smtp.port, n, letter)
        bare_cpu, bare_fake = (time.process_time() - cpu) / n, (smtp.cpu() - fake_cpu) / n
        bare_db = pg.spent(db)
        times = await smtp.call("times")
        bare, bare_idle = steady(times), idle_share(await smtp.call("waits"), times)
        await person.new_mailing(f"letters {r + 1}", "letters", email=True)
        await smtp.call("reset")
        cpu, fake_cpu, db = bot.cpu(), smtp.cpu(), pg.take()
        await person.tap("🚀 Launch")
        times = await sent_times(lambda: smtp.call("times"), n, limit=n / 20 + 120)
        engine_cpu, engine_fake = (bot.cpu() - cpu) / n, (smtp.cpu() - fake_cpu) / n
        engine_db = pg.spent(db)
        engine_idle = idle_share(await smtp.call("waits"), times)
        delivered = len(times)
        rounds.append(
            Round(steady(times), bare, engine_cpu, bare_cpu, engine_fake, bare_fake,
                  engine_idle, bare_idle, load, engine_db, bare_db, n)
        )  # fmt: skip
    ratio = statistics.median(r.engine / r.bare for r in rounds)
    engine, bare = (
        statistics.median(r.engine for r in rounds),
        statistics.median(r.bare for r in rounds),
    )
    print(
        f"e2e email: steady {engine:,.0f} msg/s · bare aiosmtplib pool of {SMTP_POOL} "
        f"{bare:,.0f} msg/s (the same letters) · ratio {ratio:.2f} (median of {len(rounds)} "
        f"rounds; target ≥ 0.9, {verdict(ratio >= 0.9)}) · {delivered:,}/{n:,} accepted"
    )
    bound = [r.cpu_ratio() for r in rounds]
    if all(b is not None for b in bound):
        print(
            "  the ratio the CPU allows (all three processes share the 2 cores: bare side's "
            "CPU per letter / bot side's, robust to the load where the rates are not): "
            f"{statistics.median(b for b in bound if b is not None):.2f} (median of "
            f"{len(bound)} rounds)"
        )
    print(
        "  rounds: ratio (bot/bare msg/s) · µs of CPU per letter, bot process/bare pool, "
        "of the fake relay serving each, and of PostgreSQL (the backends of the bench's "
        "database; the bare pool uses none) · share of the pool's time its connections "
        "waited between letters, bot/bare · load when the round began"
    )
    for r in rounds:
        print(
            f"    {r.engine / r.bare:.2f} ({r.engine:,.0f}/{r.bare:,.0f}) · CPU "
            f"{r.engine_cpu * 1e6:.0f}/{r.bare_cpu * 1e6:.0f} µs, fake "
            f"{r.engine_fake * 1e6:.0f}/{r.bare_fake * 1e6:.0f} µs, PostgreSQL "
            f"{r.pg()} · idle "
            f"{r.engine_idle:.2f}/{r.bare_idle:.2f} · load {r.load:.2f}"
        )


class Round(NamedTuple):
    engine: float  # steady msg/s of the bot
    bare: float  # … of the bare pool
    engine_cpu: float  # s of CPU per letter: the bot process
    bare_cpu: float  # … the bare pool
    engine_fake: float  # … the fake relay, serving the bot
    bare_fake: float  # … serving the bare pool
    engine_idle: float  # share of the pool's time its connections waited between letters
    bare_idle: float
    load: float  # 1-minute load average when the round began
    engine_pg: tuple[float, int] | None  # PostgreSQL's s of CPU in the bot's round, ended
    bare_pg: tuple[float, int] | None  # … in the bare pool's; None: not readable
    letters: int

    def cpu_ratio(self) -> float | None:
        """Bare side's CPU per letter (pool, relay, PostgreSQL) over the bot side's."""
        if self.engine_pg is None or self.bare_pg is None:
            return None
        bot = self.engine_cpu + self.engine_fake + self.engine_pg[0] / self.letters
        bare = self.bare_cpu + self.bare_fake + self.bare_pg[0] / self.letters
        return bare / bot

    def pg(self) -> str:
        """``bot/bare µs`` per letter; backends that ended during a round are named (their
        last CPU is not counted)."""
        if self.engine_pg is None or self.bare_pg is None:
            return "n/a"
        ended = self.engine_pg[1] + self.bare_pg[1]
        bot, bare = (side[0] / self.letters * 1e6 for side in (self.engine_pg, self.bare_pg))
        per = f"{bot:.0f}/{bare:.0f} µs"
        return per + (f" ({ended} backends ended, not counted)" if ended else "")


def idle_share(waits: list[float], times: list[float]) -> float:
    """How much of the ``SMTP_POOL`` connections' time, from the first letter to the last,
    went by between a letter's answer and the next MAIL on the same connection."""
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return sum(waits) / (SMTP_POOL * span) if span > 0 else float("nan")


# -- PostgreSQL's CPU -----------------------------------------------------------------------


class PgCpu:
    """CPU seconds of the local PostgreSQL server's processes that serve one database: its
    backends, found by the process title PostgreSQL gives them (``postgres: … <user>
    <database> 127.0.0.1(port) …``), read with psutil (user + system). The
    bare pool uses no database, so what the bot's round adds here is its database cost.

    ``take()`` returns a sample, ``spent(sample)`` the CPU since it and how many backends
    ended in between (their last CPU is not seen: a pool keeps its connections, so this
    is 0 in a steady round). ``None`` where none can be read (another host): the figures
    then read "n/a"."""

    def __init__(self, database: str) -> None:
        self._mark = f" {database} "

    def take(self) -> dict[int, float] | None:
        import psutil

        found: dict[int, float] = {}
        for process in psutil.process_iter(["cmdline", "cpu_times"]):
            title = " ".join(process.info["cmdline"] or ())
            times = process.info["cpu_times"]  # None: gone meanwhile, or not ours to read
            if times is None or not title.startswith("postgres:"):
                continue
            if self._mark in title + " ":
                found[process.pid] = float(times.user + times.system)
        return found or None

    def spent(self, before: dict[int, float] | None) -> tuple[float, int] | None:
        after = self.take()
        if before is None or after is None:
            return None
        cpu = sum(now - before.get(pid, 0.0) for pid, now in after.items())
        return cpu, sum(1 for pid in before if pid not in after)


def database_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or ""


async def part_storm(api: FakeProcess, person: Person, sizes: E2ESizes) -> None:
    n = sizes.storm
    await api.call("storm", 50, 3)
    try:
        times, _ = await run_journey(api, person, "storm", n, fast=True, first=5_000_000)
        report = await api.call("rate_stats", 0.05)
    finally:
        await api.call("storm", None, 3)
    whole = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    print(
        f"e2e 429 storm (server allows 50/s, retry_after 3; bot set to 200/s): {whole:.1f} "
        f"msg/s over {len(times):,}/{n:,} recipients = {whole / 50:.2f} of what the server "
        f"allowed; 429 answered {report['throttled']}, sent inside a retry_after "
        f"{report['violations']}"
    )


async def part_crash(
    url: str, api: FakeProcess, bot: Mailforge, person: Person, sizes: E2ESizes
) -> None:
    n, first = sizes.crash, 6_000_000
    await person.upload("crash", id_list(first, n), wait=600.0)
    await person.new_mailing("crash", "crash", fast=True)
    await api.call("reset")
    await person.tap("🚀 Launch")
    await sent_times(lambda: _bulk_times(api), n // 3, limit=n / 10 + 60)
    bot.kill9()
    killed = time.monotonic()
    in_flight = await _in_flight(url)
    await bot.stop()
    restarted = time.monotonic()
    await bot.start()
    base = BULK_CHAT_BASE + first
    wait_for = [int(v) - base for v in in_flight]
    deadline = restarted + sizes.lease + 120
    last = None
    while time.monotonic() < deadline:
        counts = await api.call("chat_counts", base, n)
        if all(counts[i] for i in wait_for):
            last = time.monotonic()
            if all(counts):
                break
        await asyncio.sleep(0.5)
    counts = await api.call("chat_counts", base, n)
    twice = sum(c - 1 for c in counts if c > 1)
    lost = sum(1 for c in counts if c == 0)
    after = f"{last - restarted:.1f} s" if last is not None else "not within the lease + 120 s"
    ok = last is not None and last - restarted <= 30
    print(
        f"e2e kill -9 a third into {n:,} recipients at 200/s: {len(in_flight)} were in flight; "
        f"the last of them reached {after} after the restart "
        f"({(last or restarted) - killed:.1f} s after the kill); duplicates {twice}, "
        f"lost {lost} (DELIVERY_LEASE_SECONDS={sizes.lease}; target ≤ 30 s, {verdict(ok)})"
    )


async def _in_flight(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT a.value FROM deliveries AS d JOIN addresses AS a"
                    " ON a.id = d.address_id WHERE d.status = 'sending'"
                )
            )
            return [str(row[0]) for row in rows]
    finally:
        await engine.dispose()


async def part_big(server_url: str, api: FakeProcess, sizes: E2ESizes) -> None:
    """A fresh database of its own: the list is imported, ticked and launched at once."""
    url = await fresh_pg_database(server_url, prefix="mailforge_bench_big")
    try:
        async with mailforge(url, api, TELEGRAM_RATE="1000", WORKERS="4"):
            person = Person(api)
            n = sizes.big
            content = id_list(10_000_000, n, names=False)
            imported = await person.upload("big", content, wait=1800.0)
            ticked = await person.new_mailing("big", "big", fast=True)
            await api.call("reset")
            await person.tap("🚀 Launch")
            pressed = (await api.call("bulk"))["pressed_at"]
            await asyncio.sleep(sizes.big_seconds)
            times = await _bulk_times(api)
        watched = [t for t in times if pressed is not None and t <= pressed + sizes.big_seconds]
        first_s = first_after(watched, pressed)
        rate = len(watched) / sizes.big_seconds
        print(
            f"e2e {n:,} ids imported into a fresh database in {imported:.1f} s, ticked in "
            f"{ticked:.2f} s (target ≤ 1 s, {verdict(ticked <= 1.0)}); launched at once: first "
            f"delivery {first_s} after Launch, {rate:,.0f} msg/s over its first "
            f"{sizes.big_seconds:.0f} s (TELEGRAM_RATE 1000, fast)"
        )
    finally:
        await drop_database(url, server_url)


async def bench_e2e(sizes: E2ESizes, server_url: str, parts: frozenset[str]) -> None:
    api = FakeProcess("botapi")
    smtp = FakeProcess("smtp-auth")
    try:
        await api.call("set_rate_limit", 30, 5)  # Telegram's free limit
        await api.call("set_stars", 10_000_000)
        await _shared_parts(sizes, server_url, api, smtp, parts)
        if "big" in parts:
            await part_big(server_url, api, sizes)
    finally:
        api.close()
        smtp.close()


async def _shared_parts(
    sizes: E2ESizes, server_url: str, api: FakeProcess, smtp: FakeProcess, parts: frozenset[str]
) -> None:
    url = await fresh_pg_database(server_url, prefix="mailforge_bench_e2e")
    smtp_env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "SMTP_USERNAME": USER,
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_FROM": "MailForge Bench <news@bench.test>",
    }
    try:
        if parts & {"free", "paid", "email"}:
            async with mailforge(url, api, TELEGRAM_RATE="1000", **smtp_env) as bot:
                person = Person(api)
                if "free" in parts:
                    await part_telegram(api, bot, person, sizes, fast=False, first=1_000_000)
                if "paid" in parts:
                    await part_telegram(api, bot, person, sizes, fast=True, first=2_000_000)
                if "email" in parts:
                    await part_email(smtp, bot, person, sizes, PgCpu(database_of(url)))
        if parts & {"storm", "crash"}:
            env = {"TELEGRAM_RATE": "200", "DELIVERY_LEASE_SECONDS": str(sizes.lease)}
            async with mailforge(url, api, **env) as bot:
                person = Person(api)
                if "storm" in parts:
                    await part_storm(api, person, sizes)
                if "crash" in parts:
                    await part_crash(url, api, bot, person, sizes)
    finally:
        await drop_database(url, server_url)
