"""Webhook mode of the fake Bot API: queued updates are POSTed to the registered URL.

After ``setWebhook`` the fake behaves like Telegram in webhook mode
(https://core.telegram.org/bots/api#setwebhook): every queued update goes as a JSON
``POST`` to the URL, with ``X-Telegram-Bot-Api-Secret-Token`` when a ``secret_token`` was
given, and ``getUpdates`` answers 409. Updates go one at a time, in order. What is
assumed: a non-2xx answer or a failed connection is recorded (``calls``, and
``getWebhookInfo``'s ``last_error_message``) and the update is dropped; the real Telegram
retries for a while, which no test here needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.fakes.bot_api_state import FakeState, now_ts

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookCall:
    update_id: int
    url: str
    status: int | None  # None: no HTTP answer (connection refused, timeout)


class WebhookPusher:
    """Background task of ``FakeBotAPI``; idle until a webhook is set."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.calls: list[WebhookCall] = []
        self.last_error: tuple[int, str] | None = None  # (date, message) as getWebhookInfo
        self._task: asyncio.Task[None] | None = None
        self._called = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_for_calls(self, count: int, timeout: float = 10.0) -> list[WebhookCall]:  # noqa: ASYNC109
        """Every call so far, once there are at least ``count`` (answered or failed)."""
        async with asyncio.timeout(timeout):
            while len(self.calls) < count:
                self._called.clear()
                await self._called.wait()
        return list(self.calls)

    async def _run(self) -> None:
        wake = self.state._webhook_wake
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                hook = self.state.webhook
                update = self._next_update(hook) if hook is not None else None
                if hook is None or update is None:
                    wake.clear()
                    await wake.wait()
                    continue
                status = await self._post(session, hook, update)
                self.calls.append(WebhookCall(update["update_id"], hook["url"], status))
                if status is None or not 200 <= status < 300:
                    self.last_error = (now_ts(), f"Wrong response from the webhook: {status}")
                self._called.set()

    def _next_update(self, hook: dict[str, str]) -> dict[str, Any] | None:
        allowed = json.loads(hook["allowed_updates"]) if hook.get("allowed_updates") else None
        queue = self.state._updates
        while queue:
            update = queue.popleft()
            if not allowed or any(kind in update for kind in allowed):
                return update
        return None

    async def _post(
        self, session: aiohttp.ClientSession, hook: dict[str, str], update: dict[str, Any]
    ) -> int | None:
        headers = {SECRET_HEADER: hook["secret_token"]} if hook.get("secret_token") else {}
        try:
            async with session.post(hook["url"], json=update, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None
