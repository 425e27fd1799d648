"""Webhook mode: the fake Bot API POSTs updates to the bot's web server with the secret
token; a call without the right token gets 401 and is not processed; an update of
Telegram's own size is taken while the other routes keep a small body limit; polling
again deletes the webhook first."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.web import PUBLIC_MAX_BYTES, TELEGRAM_UPDATE_MAX_BYTES
from domain.recipients import AddressKind
from tests.e2e.conftest import ADMIN, BotHarness, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.bot_api_webhook import SECRET_HEADER

PATH = "/telegram/updates"
STRANGER = 4242


def free_port() -> int:
    """A port for the bot's web server: Telegram must be told the URL before it listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def webhook_bot(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    port = free_port()
    async with running_bot(
        fake_api,
        migrated_pg_url,
        web_port=port,
        telegram_webhook_url=f"http://127.0.0.1:{port}{PATH}",
    ) as harness:
        await asyncio.wait_for(harness.app.web.listening.wait(), 30)
        yield harness


def start_update(user_id: int, update_id: int) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    message = {
        "message_id": 1,
        "from": user,
        "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
        "date": 1_700_000_000,
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": update_id, "message": message}


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, json=update, headers=headers) as response,
    ):
        return response.status


async def test_updates_arrive_by_post_with_the_secret_and_big_ones_are_taken(
    webhook_bot: BotHarness,
) -> None:
    api, settings = webhook_bot.api, webhook_bot.app.settings
    await wait_for_webhook(api)
    assert api.webhook is not None
    assert api.webhook["url"] == settings.telegram.webhook_url
    assert api.webhook["secret_token"] == settings.telegram.webhook_key()
    reply = await webhook_bot.say(ADMIN, "/start", language_code="en")
    assert "You are a MailForge <b>admin</b>" in reply.raw_text
    assert [call.status for call in await api.webhook_pusher.wait_for_calls(1)] == [200]
    assert api.request_count("getUpdates") == 0  # nothing polled

    # a call without the right secret gets 401 and is not processed
    api = webhook_bot.api
    await wait_for_webhook(api)
    url = f"http://127.0.0.1:{webhook_bot.app.web.port}{PATH}"
    assert await post(url, start_update(STRANGER, 900_001), secret="forged") == 401
    assert await post(url, start_update(STRANGER, 900_002), secret=None) == 401
    assert api.webhook is not None
    api.webhook["secret_token"] = "not-the-bots-secret"  # Telegram itself, misconfigured
    api.send_text(STRANGER, "/start")
    assert [c.status for c in await api.webhook_pusher.wait_for_calls(2)][1:] == [401]
    # A rightful update afterwards is answered; the refused ones never were.
    api.webhook["secret_token"] = webhook_bot.app.settings.telegram.webhook_key()
    await webhook_bot.say(ADMIN, "/start", language_code="en")
    assert [c.status for c in await api.webhook_pusher.wait_for_calls(3)][1:] == [401, 200]
    assert api.messages(STRANGER) == []
    async with webhook_bot.app.db.uow_factory() as uow:  # /start would have subscribed them
        assert await uow.addresses.find(AddressKind.telegram, str(STRANGER)) is None

    # a big update is taken and other routes keep a small limit
    api = webhook_bot.api
    await wait_for_webhook(api)
    secret = webhook_bot.app.settings.telegram.webhook_key()
    base = f"http://127.0.0.1:{webhook_bot.app.web.port}"
    update = linked_start(STRANGER, 900_010, links=300)
    assert 90_000 < len(json.dumps(update)) < 1_000_000
    assert await post(f"{base}{PATH}", update, secret) == 200
    await api.wait_for_message(STRANGER)  # handled: /start answered
    async with webhook_bot.app.db.uow_factory() as uow:
        assert await uow.addresses.find(AddressKind.telegram, str(STRANGER)) is not None

    huge = linked_start(STRANGER + 1, 900_011, links=8000)  # far past any real update
    assert len(json.dumps(huge)) > TELEGRAM_UPDATE_MAX_BYTES
    assert await post(f"{base}{PATH}", huge, secret) == 413
    too_big = {"text": "x" * (PUBLIC_MAX_BYTES + 1)}
    assert await post(f"{base}/unsubscribe/whatever", too_big, None) == 413
    async with webhook_bot.app.db.uow_factory() as uow:
        assert await uow.addresses.find(AddressKind.telegram, str(STRANGER + 1)) is None


async def test_polling_again_deletes_the_webhook_first(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    overrides = {"web_port": port, "telegram_webhook_url": url}
    async with running_bot(fake_api, migrated_pg_url, **overrides) as bot:
        await wait_for_webhook(fake_api)
    assert fake_api.webhook is not None  # a restart keeps Telegram queueing for us
    async with running_bot(fake_api, migrated_pg_url) as bot:
        # Without deleteWebhook every getUpdates would be refused with 409 Conflict.
        await wait_for_webhook(fake_api, registered=False)
        reply = await bot.say(ADMIN, "/start", language_code="en")
    assert "admin" in reply.raw_text
    assert fake_api.request_count("deleteWebhook") == 1
    assert fake_api.request_count("getUpdates") > 0


async def wait_for_webhook(api: FakeBotAPI, *, registered: bool = True) -> None:
    """Until the bot has called setWebhook (or deleteWebhook): ``serve`` runs in a task."""
    async with asyncio.timeout(30):
        while True:
            if (api.webhook is not None) == registered:
                return
            await asyncio.sleep(0.05)


def linked_start(user_id: int, update_id: int, links: int) -> dict[str, Any]:
    """A /start whose text carries ``links`` links, each with its text_link entity: a
    real update of Telegram's size (issue 17, point 23: 92 KB got 413 before)."""
    update = start_update(user_id, update_id)
    message = update["message"]
    parts, entities, offset = ["/start"], list(message["entities"]), 7
    for i in range(links):
        word = f"offer-{i:03d}"
        url = f"https://shop.example.com/catalogue/autumn/sale/item-{i:03d}?ref=channel&page={i}&utm=tg"
        entities.append({"type": "text_link", "offset": offset, "length": len(word), "url": url})
        parts.append(word)
        offset += len(word) + 1
    message["text"] = " ".join(parts)
    message["entities"] = entities
    message["reply_to_message"] = {**message, "message_id": 0}  # a quoted copy: twice the size
    return update
