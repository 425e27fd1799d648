"""The event webhooks' sender in the bot process (``HOOKS_*`` settings): a task that
sends the outbox's due events until the bot stops. Workers only write events."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from bot.settings import Settings
from domain.clock import SystemClock
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.webhooks import HookSender
from domain.webhooks import RetrySchedule
from infrastructure.fetch.hooks import HttpWebhookPoster


def build_poster(settings: Settings) -> HttpWebhookPoster:
    return HttpWebhookPoster(
        timeout=settings.hooks.timeout, allow_private=settings.hooks.allow_private_urls
    )


class EventHooks:
    def __init__(
        self, settings: Settings, uow_factory: UnitOfWorkFactory, poster: HttpWebhookPoster
    ) -> None:
        first = timedelta(seconds=settings.hooks.retry_seconds)
        schedule = RetrySchedule(
            first=first,
            cap=max(first, timedelta(hours=1)),
            max_attempts=settings.hooks.max_attempts,
        )
        self.sender = HookSender(uow_factory, poster, SystemClock(), schedule)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.sender.run_forever(self._stop))

    async def stop(self) -> None:
        """Lets the sends in flight finish and be recorded (each is bounded by
        ``HOOKS_TIMEOUT``)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
