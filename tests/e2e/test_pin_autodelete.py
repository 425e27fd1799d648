"""Pin and auto-delete: the dialog's options, each copy pinned silently in its chat, and
the copies deleted by themselves once due — exactly once, after a restart of the bot (the
database says what is due), through the same recall as the button."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import text

from bot.autodelete import AUTODELETE_JOB_ID
from domain.follow_ups import AUTODELETE, PIN
from domain.mailings import Channel, Mailing
from domain.runs import RunKind, RunStatus
from tests.e2e.conftest import BotHarness, running_bot
from tests.e2e.test_mailings import M, make_list, make_staff, start_dialog, stored
from tests.fakes.bot_api import FakeBotAPI

READERS = [7701, 7702, 7703]


async def the_dialog_offers_pin_and_auto_delete(bot: BotHarness) -> None:
    await start_dialog(bot, "Flash sale")
    await bot.press(M, "✈️ Telegram")
    options = await bot.say(M, "Only today!", language_code="en")
    assert "📌 Pin in each chat (silently): off" in options.buttons
    assert "⏲ Delete by itself: off" in options.buttons
    await bot.press(M, "📌 Pin in each chat (silently): off")
    await bot.press(M, "⏲ Delete by itself: off")
    after = await bot.press(M, "⏲ Delete by itself: after 1 h")
    assert "⏲ Delete by itself: after 3 h" in after.buttons
    assert "📌 Pin in each chat (silently): on" in after.buttons
    mailing = await stored(bot, "Flash sale")
    assert mailing.options[PIN] is True and mailing.options[AUTODELETE] == 3


async def until(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_the_dialog_offers_them_and_copies_are_pinned_then_deleted_once_after_a_restart(
    fake_api: FakeBotAPI, migrated_pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(fake_api, migrated_pg_url) as bot:
        await make_staff(bot)
        # the dialog's options first, on the first bot (it had a bot of its own)
        await the_dialog_offers_pin_and_auto_delete(bot)
        list_id = await make_list(bot, "Flash readers", READERS)
        async with bot.app.db.uow_factory() as uow:
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=M,
                    name="Flash",
                    channel=Channel.telegram,
                    body="Only today!",
                    list_ids=[list_id],
                    options={PIN: True, AUTODELETE: 1},
                )
            )
            await uow.commit()
        assert mailing.id is not None
        menu = await bot.say(M, "/help", language_code="en")
        mark = bot.api.mark(M)
        bot.api.press_data(M, f"m:open:{mailing.id}:0:", menu.message_id)
        await bot.api.wait_for_message(M, since=mark, contains="Flash")
        bot.api.press(M, "🚀 Launch")
        await bot.api.wait_for_message(M, contains="Summary", timeout=20)
        async with bot.app.db.uow_factory() as uow:
            run = await uow.runs.last_for_mailing(mailing.id)
        assert run is not None and run.id is not None and run.autodelete_at is not None
        assert run.started_at is not None
        assert (run.autodelete_at - run.started_at).total_seconds() == 3600
        for chat in READERS:
            (copy,) = fake_api.messages(chat)
            assert copy.pinned and copy.pinned_silently and not copy.deleted
        assert fake_api.request_count("deleteMessage") == 0

    # While the bot is down, the hour passes.
    async with running_bot(fake_api, migrated_pg_url, scheduler_tick_seconds=1) as bot:
        async with bot.app.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE mailing_runs SET autodelete_at = now() - INTERVAL '1 minute'"
                    " WHERE id = :id"
                ),
                {"id": run.id},
            )

        async def all_deleted() -> bool:
            return all(m.deleted for chat in READERS for m in fake_api.messages(chat))

        await until(all_deleted, 30, "the auto-delete")

        async def recall_done() -> bool:
            async with bot.app.db.uow_factory() as uow:
                found = await uow.runs.follow_ups(run.id or 0)
            return len(found) == 1 and found[0].status is RunStatus.completed

        await until(recall_done, 30, "the recall's end")

    caplog.set_level(logging.INFO, logger="apscheduler.executors.default")
    caplog.clear()  # from here on, only the third bot's jobs

    async def two_ticks() -> bool:
        ran = [r for r in caplog.records if f'"{AUTODELETE_JOB_ID} ' in r.getMessage()]
        return sum("executed successfully" in r.getMessage() for r in ran) >= 2

    async with running_bot(fake_api, migrated_pg_url, scheduler_tick_seconds=1) as bot:
        await until(two_ticks, 30, "two ticks of the auto-delete job")  # nothing is due
        async with bot.app.db.uow_factory() as uow:
            (recall,) = await uow.runs.follow_ups(run.id)
            source = await uow.runs.get(run.id)
    assert recall.kind is RunKind.recall and recall.totals.delivered == len(READERS)
    assert source is not None and source.autodelete_at is None
    assert fake_api.request_count("deleteMessage") == len(READERS)
    assert not [r for r in caplog.records if f"Job {AUTODELETE_JOB_ID} failed" in r.getMessage()]
