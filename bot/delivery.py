"""The delivery engine wired together: queue, channels, workers, progress watcher.

``mailforge run`` starts ``WORKERS`` workers inside the bot process (on a thread of their
own); ``mailforge worker`` runs them alone, on as many machines as you like, sharing one
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import timedelta

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from bot.tracking import tracking_urls, verp
from bot.web import unsubscribe_url
from domain.backoff import short_error
from domain.clock import Clock, SystemClock
from domain.delivery import RetryPolicy
from domain.mailings import Channel
from domain.ports.channels import DeliveryChannel
from domain.ports.mass_send import MassSendChannel
from domain.ports.workers import WorkSignal
from domain.usecases.deliver import Worker
from domain.usecases.heartbeat import Heartbeat
from domain.usecases.mass_send import MassSendRunner
from infrastructure.channels import SmtpChannel, TelegramChannel, WebhookChannel
from infrastructure.channels.ratelimit import MemoryRateLimiter, RateLimiter
from infrastructure.channels.sendsay import SendsayChannel
from infrastructure.channels.sendsay_mass import SendsayMassSender
from infrastructure.channels.telegram import FREE_RATE
from infrastructure.db.engine import create_engine, create_session_factory
from infrastructure.db.follow_ups import SqlFollowUps
from infrastructure.db.mass_send_queue import SqlMassSendQueue
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.uow import make_uow_factory
from infrastructure.db.wakeup import PgWorkSignal
from infrastructure.db.workers import SqlWorkerRegistry
from infrastructure.rendering import JinjaRenderer
from infrastructure.sendsay import SendsayClient

log = logging.getLogger(__name__)
TELEGRAM_PER_CHAT_INTERVAL = 1.0  # Telegram: about one message per second in one chat
IMPORT_TRACK_POLL = 2.0  # seconds between polls of a Sendsay member.import's track
SWITCH_INTERVAL = 0.001  # seconds a thread may keep the interpreter while another waits


def telegram_limiters(settings: Settings, bot_id: int) -> tuple[RateLimiter, RateLimiter | None]:
    """The free lane (at most Telegram's free 30/s) and, when ``TELEGRAM_RATE`` is above
    that, the lane of fast (paid) runs."""
    rate = settings.telegram.rate
    free = lane_limiter(settings, bot_id, min(rate, FREE_RATE), paid=False)
    return free, (lane_limiter(settings, bot_id, rate, paid=True) if rate > FREE_RATE else None)


def lane_limiter(settings: Settings, bot_id: int, rate: float, *, paid: bool) -> RateLimiter:
    """With ``REDIS_URL`` every worker process of this bot shares the lane's budget in
    Redis, across restarts too; otherwise the budget is this process's own, and it starts
    as if its predecessor had just used the last second to the full (``busy_start``)."""
    if settings.redis.url is None:
        return MemoryRateLimiter(rate, TELEGRAM_PER_CHAT_INTERVAL, busy_start=True)
    from infrastructure.channels.ratelimit_redis import RedisRateLimiter  # only with Redis

    prefix = f"{settings.redis.key_prefix}:tg:{bot_id}" + (":paid" if paid else "")
    return RedisRateLimiter.from_url(
        settings.redis.url.get_secret_value(), prefix, rate, TELEGRAM_PER_CHAT_INTERVAL
    )


def build_channels(
    settings: Settings,
    bot: Bot,
    on_retry_after: Callable[[float], None] | None = None,
    lanes: tuple[RateLimiter, RateLimiter | None] | None = None,
) -> tuple[dict[Channel, DeliveryChannel], dict[Channel, MassSendChannel]]:
    """The configured channels, and those of them that can also mass-send;
    ``on_retry_after`` hears Telegram's 429 answers (the metrics counter), ``lanes`` are
    the Telegram limiters (``telegram_limiters`` by default)."""
    mass: dict[Channel, MassSendChannel] = {}
    free, paid = lanes or telegram_limiters(settings, bot.id)
    channels: dict[Channel, DeliveryChannel] = {
        Channel.telegram: TelegramChannel(
            bot,
            rate=settings.telegram.rate,
            limiter=free,
            paid_limiter=paid,
            on_retry_after=on_retry_after,
        ),
    }
    if settings.configured(Channel.webhook):
        assert settings.webhook.url is not None
        headers = settings.webhook.headers or {}
        channels[Channel.webhook] = WebhookChannel(
            settings.webhook.url,
            {name: value.get_secret_value() for name, value in headers.items()},
        )
    if settings.configured(Channel.email):
        assert settings.smtp.host and settings.smtp.sender
        key = settings.unsubscribe_key()
        base = settings.web.public_base_url
        channels[Channel.email] = SmtpChannel(
            settings.smtp.host,
            settings.smtp.port,
            security=settings.smtp.security,
            username=settings.smtp.username,
            password=settings.smtp.password.get_secret_value() if settings.smtp.password else None,
            sender=settings.smtp.sender,
            ca_file=settings.smtp.ca_file,
            unsubscribe=lambda address_id: unsubscribe_url(base, key, address_id),
            verp=verp(settings),
        )
    if settings.configured(Channel.sendsay):
        # The channel owns this client (closed with the channel). The sender (required by
        # the settings) must be confirmed in the Sendsay account: it has no default sender.
        client = build_sendsay_client(settings)
        sender, relink = settings.sendsay_sender, settings.sendsay.relink
        channels[Channel.sendsay] = SendsayChannel(client, sender=sender, relink=relink)
        mass[Channel.sendsay] = SendsayMassSender(
            client,
            sender=sender,
            relink=relink,
            track_poll=min(IMPORT_TRACK_POLL, settings.sendsay.poll_seconds),
        )
    return channels, mass


def build_sendsay_client(settings: Settings) -> SendsayClient:
    assert settings.sendsay.account and settings.sendsay.api_key is not None
    return SendsayClient(
        settings.sendsay.account,
        settings.sendsay.api_key.get_secret_value(),
        base_url=settings.sendsay.api_url,
    )


def mass_send_thresholds(settings: Settings) -> dict[Channel, int]:
    """From how many recipients a run goes out as one mass send, per configured channel
    that can mass-send (the others never do)."""
    if settings.configured(Channel.sendsay):
        return {Channel.sendsay: settings.sendsay.mass_send_threshold}
    return {}


class Delivery:
    """The delivery engine of one process: ``queue`` serves launches on the caller's event
    loop; the workers run on a thread of their own, with their own event loop, database
    engine and Bot API session.

    A worker sending at full speed keeps its event loop busy all the time; on the bot's
    loop that delayed every answer of the bot (``/start`` waited behind hundreds of
    sends, bench/delivery.py). On a thread of its own the bot's loop only shares the
    interpreter, which switches threads every millisecond (``share_interpreter``).
    """

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        bot_factory: Callable[[], Bot],
        on_retry_after: Callable[[float], None] | None = None,
    ) -> None:
        self._settings = settings
        self.queue = SqlMassSendQueue(engine, mass_send_thresholds(settings))
        self._bot_factory = bot_factory
        self._on_retry_after = on_retry_after
        # In memory, the lanes are made here so that the bot's replies (on the caller's
        # loop) can be noted in the free lane the workers send through (``note_reply``).
        self._lanes = telegram_limiters(settings, 0) if settings.redis.url is None else None
        self._reply_limiter: RateLimiter | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._crashed = False
        # What time it is to the workers (due retries, local-time releases); tests set it.
        self.clock: Clock = SystemClock()

    def start(self, workers: int) -> None:
        """``workers`` concurrent workers on the delivery thread (none: no thread)."""
        if not workers or self._thread is not None:
            return
        self._stop = asyncio.Event()
        self._crashed = False
        share_interpreter()
        self._loop = delivery_loop()
        self._thread = threading.Thread(
            target=self._run_thread, args=(self._loop, workers), name="delivery", daemon=True
        )
        self._thread.start()
        log.info("Started %d delivery worker(s)", workers)

    async def note_reply(self) -> None:
        """The bot sent a message to a person: broadcasts leave room for it in the free
        lane's window (in Redis, for every worker process of this bot)."""
        if self._reply_limiter is None:
            if self._lanes is not None:
                self._reply_limiter = self._lanes[0]
            else:  # a client of the caller's loop, on the free lane's keys
                settings = self._settings
                bot_id = int(settings.telegram.token().partition(":")[0])
                free = min(settings.telegram.rate, FREE_RATE)
                self._reply_limiter = lane_limiter(settings, bot_id, free, paid=False)
        await self._reply_limiter.note()

    async def close(self) -> None:
        """Release what ``note_reply`` opened (after ``stop``)."""
        if self._reply_limiter is not None and self._lanes is None:
            await self._reply_limiter.aclose()
        self._reply_limiter = None

    @property
    def alive(self) -> bool:
        """Workers were started and none of them has ended (a crash ends them all)."""
        return self._thread is not None and self._thread.is_alive() and not self._crashed

    async def stop(self) -> None:
        """Let every worker finish and record the batch in hand, then close the channels."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with suppress(RuntimeError):  # the loop is closed already: the thread has ended
            loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(thread.join)
        self._thread = self._loop = None

    def _run_thread(self, loop: asyncio.AbstractEventLoop, workers: int) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(workers))
        except Exception:
            self._crashed = True
            log.exception("The delivery workers could not start")
        finally:
            with suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _serve(self, workers: int) -> None:
        """The delivery thread: its own engine, bot session and channels, closed at the end."""
        settings = self._settings
        engine = create_engine(settings.database.url.get_secret_value())
        bot = self._bot_factory()
        channels: dict[Channel, DeliveryChannel] = {}
        heartbeat = build_heartbeat(settings, engine, self.clock)
        # PostgreSQL wakes idle workers when work arrives; on SQLite they poll.
        pg = engine.dialect.name == "postgresql"
        signal = PgWorkSignal(settings.database.url.get_secret_value()) if pg else None
        try:
            if signal is not None:
                await signal.start()
            # Requeues at once what a crashed process left behind; waits out a database
            # that is not up yet (the workers are "alive" meanwhile: they resume by
            # themselves, and /healthz shows the database as down).
            if await heartbeat.start_when_up(self._stop) is None:
                return
            channels, mass = build_channels(settings, bot, self._on_retry_after, self._lanes)
            worker = build_worker(settings, engine, channels, mass, heartbeat, signal, self.clock)
            tasks = [asyncio.create_task(worker.run_forever(self._stop)) for _ in range(workers)]
            beating = asyncio.create_task(heartbeat.run(self._stop))
            done, _ = await asyncio.wait([*tasks, beating], return_when=asyncio.FIRST_COMPLETED)
            if not self._stop.is_set():  # a worker ended on its own: a bug, stop them all
                self._crashed = True
                for task in done:
                    if task.exception() is not None:
                        log.error("A delivery worker crashed", exc_info=task.exception())
                self._stop.set()
            await asyncio.gather(*tasks, beating, return_exceptions=True)
            try:
                await heartbeat.retire()  # every batch is recorded: nothing to requeue
            except Exception as exc:  # the database is away: the row simply goes stale
                log.warning("Could not retire this worker process (%s)", short_error(exc))
        finally:
            if signal is not None:
                await signal.close()
            for channel in channels.values():
                await channel.close()
            await bot.session.close()
            await engine.dispose()


def share_interpreter() -> None:
    """Let the bot's loop take the interpreter back sooner from a sending delivery thread.

    Each time the bot's loop wakes from I/O (a request, an answer of PostgreSQL) while the
    delivery thread computes, it waits for the GIL up to ``sys.getswitchinterval()``
    (5 ms by default), several times per request. A PostgreSQL round trip from one loop
    beside a thread that only computes, p95 (3 rounds alternated, load 11): 15, 14, 24 ms
    at 5 ms; 10, 10, 17 ms at 1 ms. A paid or email run spent the same CPU per message
    within the noise (bench/api.py 20,000 emails, loads 8-11: 438-531 µs at 5 ms,
    425-514 µs at 1 ms). A smaller interval set already is kept."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))


def delivery_loop() -> asyncio.AbstractEventLoop:
    """The delivery thread's event loop: uvloop's where it is installed (not on Windows).
    A paid broadcast at 1000/s spends most of its CPU in the loop and its transports
    (a request and an answer per message): with uvloop `mailforge run` used 356 and 359 µs
    of CPU per paid message against 406 and 376 µs without, alternated in one quarter of
    an hour (20,000 messages each, load 6)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def build_heartbeat(
    settings: Settings, engine: AsyncEngine, clock: Clock | None = None
) -> Heartbeat:
    """This process's row among the workers, named after the host and the pid; on the
    workers' clock, so that a lease is measured on the time its claim was stamped with."""
    return Heartbeat(
        registry=SqlWorkerRegistry(engine),
        queue=SqlDeliveryQueue(engine),
        name=f"{socket.gethostname()}:{os.getpid()}",
        liveness=settings.delivery.liveness,
        lease=timedelta(seconds=settings.delivery.lease_seconds),
        policy=RetryPolicy(max_attempts=settings.delivery.max_attempts),
        clock=clock or SystemClock(),
    )


def build_worker(
    settings: Settings,
    engine: AsyncEngine,
    channels: Mapping[Channel, DeliveryChannel],
    mass: Mapping[Channel, MassSendChannel],
    heartbeat: Heartbeat | None = None,
    signal: WorkSignal | None = None,
    clock: Clock | None = None,
) -> Worker:
    """One ``Worker`` (it may run many times concurrently) on ``engine``."""
    uow_factory = make_uow_factory(create_session_factory(engine))
    renderer = JinjaRenderer()
    lease = timedelta(seconds=settings.delivery.lease_seconds)
    policy = RetryPolicy(max_attempts=settings.delivery.max_attempts)
    queue = SqlMassSendQueue(engine, mass_send_thresholds(settings))
    mass_sends = MassSendRunner(
        queue=queue,
        channels=mass,
        renderer=renderer,
        lease=lease,
        poll_every=timedelta(seconds=settings.sendsay.poll_seconds),
        report_wait=timedelta(seconds=settings.sendsay.report_wait_seconds),
        policy=policy,
    )

    return Worker(
        queue=queue,
        channels=channels,
        renderer=renderer,
        uow_factory=uow_factory,
        batch_size=settings.delivery.batch_size,
        batch_seconds=settings.delivery.batch_seconds,
        lease=lease,
        policy=policy,
        mass_sends=mass_sends,
        heartbeat=heartbeat,
        signal=signal,
        outage_budget=timedelta(seconds=settings.delivery.outage_budget_seconds),
        outage_notice=timedelta(seconds=settings.delivery.outage_notice_seconds),
        outage_probe=settings.delivery.outage_probe_seconds,
        tracking=tracking_urls(settings),
        follow_ups=SqlFollowUps(engine),
        clock=clock or SystemClock(),
    )
