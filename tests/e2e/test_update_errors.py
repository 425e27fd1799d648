"""Updates that go wrong before any handler: a failing middleware, an unknown update type."""

from __future__ import annotations

import logging
import warnings

import pytest
from sqlalchemy import text

from tests.e2e.conftest import running_bot
from tests.fakes.bot_api import FakeBotAPI

PERSON = 5005


async def test_an_unknown_update_is_logged_without_its_content_and_a_failure_still_replies(
    fake_api: FakeBotAPI, migrated_sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    update = {
        "update_id": 987654,
        "future_kind_of_update": {"text": "my card 4111 1111 1111 1111", "phone": "+79991234567"},
    }
    async with running_bot(fake_api, migrated_sqlite_url) as bot:
        await bot.say(PERSON, "/start")  # polling runs (or stopping it would find nothing)
        with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.DEBUG):
            warnings.simplefilter("always")
            await bot.app.dispatcher.feed_raw_update(bot.app.bot, update)
        logged = "\n".join(
            [record.getMessage() for record in caplog.records] + [str(w.message) for w in warned]
        )
        assert "Skipped update 987654 of a type this version does not handle" in logged
        assert "future_kind_of_update" in logged
        assert "4111" not in logged and "+7999" not in logged

        # a failure before the handlers still gets the person a reply: loading the caller
        # (the outer user middleware) now fails on every update
        async with bot.app.db.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE users RENAME TO users_gone"))
        reply = await bot.say(PERSON + 2, "hello", language_code="en")
        assert reply.text == "Something went wrong. Please try again a bit later."
        russian = await bot.say(PERSON + 1, "/start", language_code="ru")
        assert russian.text.startswith("Что-то пошло не так")
