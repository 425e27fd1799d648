"""The delivery engine wired together: queue, channels, workers, progress watcher.

``mailforge run`` starts ``WORKERS`` workers inside the bot process; ``mailforge worker``
runs them alone, on as many machines as you like, sharing one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from bot.web import unsubscribe_url
from domain.delivery import RetryPolicy
from domain.mailings import Channel
from domain.ports import DeliveryChannel, MassSendChannel, MessageRenderer, UnitOfWorkFactory
from domain.usecases.bulk_send import BulkSender
from domain.usecases.deliver import Worker
from domain.usecases.launch import finish_runs
from infrastructure.channels import SmtpChannel, TelegramChannel, WebhookChannel
from infrastructure.channels.ratelimit import MemoryRateLimiter, RateLimiter
from infrastructure.channels.sendsay import SendsayChannel
from infrastructure.channels.sendsay_mass import SendsayMassSender
from infrastructure.db.bulk_queue import SqlBulkQueue
from infrastructure.sendsay import SendsayClient

log = logging.getLogger(__name__)
TELEGRAM_PER_CHAT_INTERVAL = 1.0  # Telegram: about one message per second in one chat


def telegram_limiter(settings: Settings, bot: Bot) -> RateLimiter:
    """With ``REDIS_URL`` every worker process of this bot shares one budget in Redis;
    otherwise the budget is this process's own."""
    if settings.redis_url is None:
        return MemoryRateLimiter(settings.telegram_rate, TELEGRAM_PER_CHAT_INTERVAL)
    from infrastructure.channels.ratelimit_redis import RedisRateLimiter  # only with Redis

    return RedisRateLimiter.from_url(
        settings.redis_url.get_secret_value(),
        f"{settings.redis_key_prefix}:tg:{bot.id}",
        settings.telegram_rate,
        TELEGRAM_PER_CHAT_INTERVAL,
    )


def build_channels(
    settings: Settings, bot: Bot, on_retry_after: Callable[[float], None] | None = None
) -> tuple[dict[Channel, DeliveryChannel], dict[Channel, MassSendChannel]]:
    """The configured channels, and those of them that can also mass-send;
    ``on_retry_after`` hears Telegram's 429 answers (the metrics counter)."""
    mass: dict[Channel, MassSendChannel] = {}
    limiter = telegram_limiter(settings, bot)
    channels: dict[Channel, DeliveryChannel] = {
        Channel.telegram: TelegramChannel(bot, limiter=limiter, on_retry_after=on_retry_after),
    }
    if settings.webhook_url:
        headers = settings.webhook_headers
        channels[Channel.webhook] = WebhookChannel(
            settings.webhook_url, json.loads(headers.get_secret_value()) if headers else {}
        )
    if settings.smtp_host and settings.smtp_from:
        key = settings.unsubscribe_key()
        base = settings.public_base_url
        channels[Channel.email] = SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            sender=settings.smtp_from,
            unsubscribe=lambda address_id: unsubscribe_url(base, key, address_id),
        )
    if settings.sendsay_account and settings.sendsay_api_key is not None:
        # The channel owns this client (closed with the channel). The sender must be an
        # address confirmed in the Sendsay account; without one Sendsay's default is used.
        client = SendsayClient(
            settings.sendsay_account,
            settings.sendsay_api_key.get_secret_value(),
            base_url=settings.sendsay_api_url,
        )
        sender = settings.sendsay_from or settings.smtp_from or ""
        channels[Channel.sendsay] = SendsayChannel(client, sender=sender)
        mass[Channel.sendsay] = SendsayMassSender(client, sender=sender)
    return channels, mass


class Delivery:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        uow_factory: UnitOfWorkFactory,
        bot: Bot,
        renderer: MessageRenderer,
        on_retry_after: Callable[[float], None] | None = None,
    ) -> None:
        self.channels, mass = build_channels(settings, bot, on_retry_after)
        thresholds = dict.fromkeys(mass, settings.sendsay_bulk_threshold)
        self.queue = SqlBulkQueue(engine, thresholds)
        self.bulk = BulkSender(
            queue=self.queue,
            channels=mass,
            renderer=renderer,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            poll_every=timedelta(seconds=settings.sendsay_poll_seconds),
            report_wait=timedelta(seconds=settings.sendsay_report_wait_seconds),
            policy=RetryPolicy(max_attempts=settings.delivery_max_attempts),
        )

        async def finished(run_ids: list[int]) -> None:
            await finish_runs(uow_factory, run_ids)  # logs "Run finished" with the counts

        self.worker = Worker(
            queue=self.queue,
            channels=self.channels,
            renderer=renderer,
            uow_factory=uow_factory,
            on_finished=finished,
            batch_size=settings.delivery_batch_size,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            policy=RetryPolicy(max_attempts=settings.delivery_max_attempts),
            bulk=self.bulk,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, workers: int) -> None:
        self._stop.clear()
        for _ in range(workers):
            self._tasks.append(asyncio.create_task(self.worker.run_forever(self._stop)))
        if workers:
            log.info("Started %d delivery worker(s)", workers)

    @property
    def alive(self) -> bool:
        """Workers were started and none of them has ended (a crash would end its task)."""
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def stop(self) -> None:
        """Let every worker finish and record the batch in hand, then close the channels."""
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for channel in self.channels.values():
            await channel.close()
