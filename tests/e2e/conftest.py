"""The real bot (dispatcher in polling mode) against the fake Bot API and a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot import runner
from bot.app import App
from bot.settings import load_settings
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import roles
from domain.users import Role
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.smtp import FakeSmtp

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ADMIN = 1001


@dataclass
class BotHarness:
    api: FakeBotAPI
    app: App

    async def say(self, user_id: int, text: str, **profile: Any) -> SentMessage:
        """Send ``text`` as ``user_id`` and return the bot's next new message to them.

        Edits of earlier messages are not the answer: right after a launch, a late
        progress edit of a run's card would otherwise be taken for it."""
        mark, before = self.api.mark(user_id), self._newest_id(user_id)
        self.api.send_text(user_id, text, **profile)
        return await self.api.wait_for_message(
            user_id, since=mark, predicate=lambda msg: msg.message_id > before
        )

    async def press(self, user_id: int, button: str, **kwargs: Any) -> SentMessage:
        """Press a button and return the bot's next new message, or edit of the message
        the button belongs to (a button of a reply keyboard: the next new message)."""
        mark, before = self.api.mark(user_id), self._newest_id(user_id)
        pressed = self.api.press(user_id, button, **kwargs)
        own = pressed["message"]["message_id"] if "data" in pressed else None

        def answer(msg: SentMessage) -> bool:
            return msg.message_id > before or msg.message_id == own

        return await self.api.wait_for_message(user_id, since=mark, predicate=answer)

    def _newest_id(self, user_id: int) -> int:
        newest = self.api.last_message(user_id)
        return newest.message_id if newest is not None else 0

    async def alert(self, user_id: int, data: str, message_id: int) -> dict[str, Any]:
        """Press a button with arbitrary (forged) data; return the bot's callback answer."""
        query = self.api.press_data(user_id, data, message_id)
        return await self.api.wait_for_callback_answer(query["id"])


@asynccontextmanager
async def running_bot(
    api: FakeBotAPI,
    database_url: str,
    services: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[BotHarness]:
    """``overrides``: settings; ``services``: fields of the handlers' ``Services`` to
    replace before the bot starts (aiogram copies workflow data when polling starts)."""
    settings = load_settings(
        **{
            "bot_token": TOKEN,
            "database_url": database_url,
            "telegram_api_url": api.base_url,
            "admin_ids": [ADMIN],
            "web_port": 0,
            **overrides,
        }
    )
    app = await runner.start(settings)
    if services:
        data = app.dispatcher.workflow_data
        data["services"] = replace(data["services"], **services)
        if "clock" in services:  # the workers see the same (fake) time as the handlers
            app.delivery.clock = services["clock"]
    app.watcher.interval = 0.2  # progress edits every 3 s in production; tests need not wait
    task = asyncio.create_task(runner.serve(app, handle_signals=False, polling_timeout=1))
    try:
        yield BotHarness(api, app)
    finally:
        await runner.stop(app)  # polling or webhook; a no-op if the test stopped it already
        await task
        await app.close()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
async def bot(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(fake_api, migrated_pg_url) as harness:
        yield harness


class _Quiet:
    """Role changes made by the test itself need no message to the person."""

    async def access_changed(self, user: object) -> None:
        return None


async def grant(bot: BotHarness, *user_ids: int, role: Role = Role.manager) -> None:
    """Give roles directly (as the console would), without going through the chat."""
    for user_id in user_ids:
        await roles.grant_role(
            bot.app.db.uow_factory, _Quiet(), actor_id=None, target_id=user_id, role=role
        )


async def readers_list(bot: BotHarness, owner_id: int, chats: list[int]) -> int:
    """A list "Readers" of Telegram chats, owned by ``owner_id``; its id."""
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", owner_id))
        assert rlist.id is not None
        for chat in chats:
            address = await uow.addresses.upsert(Address(AddressKind.telegram, str(chat)))
            assert address.id is not None
            await uow.members.add_members(rlist.id, [address.id])
        await uow.commit()
    return rlist.id


@asynccontextmanager
async def email_bot(api: FakeBotAPI, url: str) -> AsyncIterator[tuple[BotHarness, FakeSmtp]]:
    """A bot whose Email channel sends to a fake relay (plain SMTP on 127.0.0.1)."""
    async with (
        FakeSmtp() as smtp,
        running_bot(
            api,
            url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="News <news@example.com>",
        ) as bot,
    ):
        yield bot, smtp
