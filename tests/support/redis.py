"""Redis for tests: db 14 of the local server (``TEST_REDIS_URL`` overrides) and a key
prefix per test, so parallel runs never meet; never FLUSHDB.

Fixture: ``redis_prefix`` (``$TEST_REDIS_PREFIX-<random>``, default ``mftest-…``; its keys
are deleted after the test).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
PREFIX = os.environ.get("TEST_REDIS_PREFIX", "mftest")


def new_prefix() -> str:
    return f"{PREFIX}-{secrets.token_hex(4)}"


async def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix:``."""
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = new_prefix()
    yield prefix
    await delete_keys(REDIS_URL, prefix)
