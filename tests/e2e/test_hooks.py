"""/hooks through the bot: an admin adds an event webhook (its secret shown once), sees
an endpoint's failing deliveries with their error and next try, tests it, deletes it;
managers are refused like for any admin command."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from domain.webhooks import OutboxStatus
from tests.e2e.conftest import ADMIN, BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.webhook import FakeWebhook

MANAGER, READER = 2202, 960_001


@pytest.fixture
async def hooked(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    settings = {"hooks_allow_private_urls": True, "hooks_retry_seconds": 30}
    async with running_bot(fake_api, migrated_pg_url, **settings) as harness:
        yield harness


async def failed_once(bot: BotHarness, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        async with bot.app.db.uow_factory() as uow:
            (endpoint,) = await uow.webhooks.all()
            health = await uow.webhooks.health(endpoint.id or 0, 5)
        if health is not None and health.failures:
            assert health.failures[0].status is OutboxStatus.pending
            return
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def test_an_admin_adds_sees_failures_tests_and_deletes_a_hook(hooked: BotHarness) -> None:
    bot = hooked
    await grant(bot, MANAGER)
    refused = await bot.say(MANAGER, "/hooks", language_code="en")
    assert "administrators only" in (refused.text or "")

    empty = await bot.say(ADMIN, "/hooks", language_code="en")
    assert "No event webhooks yet" in (empty.text or "")
    asked = await bot.press(ADMIN, "➕ Add")
    assert "receiver's URL" in (asked.text or "")
    wrong = await bot.say(ADMIN, "ftp://files.example/x", language_code="en")
    assert "not a URL events can be sent to" in (wrong.text or "")
    unknown = await bot.say(ADMIN, "https://crm.example/h run.exploded", language_code="en")
    assert "Unknown event “run.exploded”" in (unknown.text or "")

    async with FakeWebhook() as receiver:
        receiver.respond(500, times=10)
        made = await bot.say(ADMIN, f"{receiver.url} recipient.unsubscribed", language_code="en")
        assert "is registered for: recipient.unsubscribed" in (made.text or "")
        assert "whsec_" in (made.text or "")

        await bot.say(READER, "/start")
        await bot.say(READER, "/stop")
        await failed_once(bot)
        shown = await bot.say(ADMIN, "/hooks", language_code="en")
        text = shown.text or ""
        assert receiver.url in text and "Waiting to be sent: 1" in text
        assert "recipient.unsubscribed: HTTP 500" in text and "next try" in text
        assert "whsec_" not in text  # the secret was shown once

        answers = len(bot.api.callback_answers)
        bot.api.press(ADMIN, "🧪 Test #")
        alert = await bot.api.wait_for_callback_answer(since=answers, timeout=15)
        assert alert["show_alert"] and "did not accept the test event: HTTP 500" in alert["text"]
        assert receiver.requests[-1].body["type"] == "webhook.test"

        ask = await bot.press(ADMIN, "🗑 Delete #")
        assert "Delete endpoint" in (ask.text or "")
        gone = await bot.press(ADMIN, "🗑 Delete")
        assert "No event webhooks yet" in (gone.text or "")
    async with bot.app.db.uow_factory() as uow:
        assert await uow.webhooks.all() == []
