"""A loopback file server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.http_files import FileServer


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    async with FileServer() as server:
        yield server
