"""A fake Sendsay account on loopback and a real client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infrastructure.sendsay import SendsayClient
from tests.fakes.sendsay import FakeSendsay

ACCOUNT = "acme"
API_KEY = "test-secret-key-0123456789"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSendsay]:
    async with FakeSendsay(account=ACCOUNT, api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def client(fake: FakeSendsay) -> AsyncIterator[SendsayClient]:
    async with SendsayClient(ACCOUNT, API_KEY, base_url=fake.base_url, timeout=2.0) as sendsay:
        yield sendsay
