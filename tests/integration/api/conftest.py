"""The running bot with its HTTP API on its web server (a free port), and an httpx client
per token."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from domain.usecases.api_tokens import create_token
from domain.users import Role
from tests.e2e.conftest import ADMIN, BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI

MANAGER, OTHER = 3101, 3102


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context for all the clients (the API is plain HTTP here): httpx builds one
    per client from certifi's roots otherwise, ~50 ms of CPU each, several per test."""
    return ssl.create_default_context()


@dataclass
class ApiHarness:
    bot: BotHarness
    base_url: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def token(self, user_id: int, role: Role | None = Role.manager) -> str:
        """A token of ``user_id`` (given ``role`` first, as the console would)."""
        if role is not None and user_id != ADMIN:
            await grant(self.bot, user_id, role=role)
        _, secret = await create_token(self.bot.app.db.uow_factory, None, user_id, "test")
        return secret

    def client(self, secret: str | None = None, **headers: str) -> httpx.AsyncClient:
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=30, verify=shared_tls()
        )
        self.clients.append(http)
        return http

    async def as_user(self, user_id: int, role: Role = Role.manager) -> httpx.AsyncClient:
        return self.client(await self.token(user_id, role))


async def start_api(database_url: str, **settings: Any) -> AsyncIterator[ApiHarness]:
    async with (
        FakeBotAPI() as telegram,
        running_bot(telegram, database_url, api_enabled=True, **settings) as bot,
    ):
        await asyncio.wait_for(bot.app.web.listening.wait(), 30)
        harness = ApiHarness(bot, f"http://127.0.0.1:{bot.app.web.port}/api/v1")
        try:
            yield harness
        finally:
            for http in harness.clients:
                await http.aclose()


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[ApiHarness]:
    async for harness in start_api(database_url):
        yield harness


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem with this status (and message key)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body
