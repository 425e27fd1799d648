"""Fixtures shared by every test package; the database ones live in tests.support.db."""

import gc

import pytest

import bot  # noqa: F401  (first, as in production: aiogram is imported slim)

pytest_plugins = ["tests.support.db", "tests.support.redis"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what collection built (modules, test items, the bot's imports) out of the
    garbage collector's way, as ``bot.runner.settle_heap`` does after the bot's start-up.
    Each bot a test starts and stops leaves cycles behind (routers, sessions, engines);
    every full collection they trigger walked the whole test process too. An end-to-end
    test file used ~13% less CPU (15.9 s -> 13.9 s user, 18 tests, alternated twice)."""
    gc.collect()
    gc.freeze()
