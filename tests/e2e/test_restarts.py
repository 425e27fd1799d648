"""A restarted bot picks up where it stopped: the progress message of a run still sending
is edited again until its summary, and a launch a crash cut in two is started."""

from __future__ import annotations

import asyncio
import contextlib

from domain.mailings import Channel, Mailing, MailingStatus
from domain.runs import MailingRun, RunStatus
from domain.usecases import launch
from domain.usecases.launch import Launcher
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer
from tests.e2e.conftest import BotHarness, grant, readers_list, running_bot
from tests.fakes.bot_api import FakeBotAPI

M = 2202
READERS = list(range(7301, 7361))  # 60 recipients at 20/s: about 3 s of sending


async def a_mailing(bot: BotHarness) -> int:
    await grant(bot, M)
    list_id = await readers_list(bot, M, READERS)
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(M, "Long news", Channel.telegram, body="Hi", list_ids=[list_id])
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def last_run(bot: BotHarness, mailing_id: int) -> MailingRun:
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None
    return run


async def settled(bot: BotHarness, mailing_id: int) -> MailingRun:
    """The run once its summary is no longer waited for (the watcher forgets it last)."""
    for _ in range(100):
        run = await last_run(bot, mailing_id)
        if run.progress is None:
            break
        await asyncio.sleep(0.05)
    return run


async def test_a_restarted_bot_edits_the_progress_message_to_its_summary_and_announces_it(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with running_bot(fake_api, migrated_pg_url, telegram_rate=20) as bot:
        mailing_id = await a_mailing(bot)
        menu = await bot.say(M, "/help", language_code="en")
        mark = bot.api.mark(M)
        bot.api.press_data(M, f"m:launch:{mailing_id}:0:", menu.message_id)
        shown = await bot.api.wait_for_message(M, since=mark, contains="Sending", timeout=10)
    # The bot stopped mid-run (its workers recorded the batch in hand).
    stopped = await last_run(bot, mailing_id)
    assert stopped.status is RunStatus.running and stopped.totals.pending > 0
    assert stopped.progress is not None and stopped.progress.message_id == shown.message_id
    edits = fake_api.messages(M)[-1].edits

    async with running_bot(fake_api, migrated_pg_url, telegram_rate=20) as again:
        summary = await again.api.wait_for_message(
            M,
            predicate=lambda m: m.message_id == shown.message_id and "Summary" in (m.text or ""),
            timeout=30,
        )
        # ... and as a new message too: the old one may be far up the chat by now.
        announced = await again.api.wait_for_message(
            M,
            predicate=lambda m: m.message_id > shown.message_id and "Summary" in (m.text or ""),
            timeout=30,
        )
        done = await settled(again, mailing_id)

    assert summary.edits > edits and f"{len(READERS)} of {len(READERS)}" in summary.text
    assert f"{len(READERS)} of {len(READERS)}" in (announced.text or "")
    assert done.status is RunStatus.completed and done.progress is None


class Crash(Exception):
    pass


class DiesBeforeTheRecipients(SqlDeliveryQueue):
    async def snapshot(self, *args: object, **kwargs: object) -> int:
        raise Crash


async def test_a_launch_cut_in_two_by_a_crash_goes_out_after_the_restart(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with running_bot(fake_api, migrated_pg_url) as bot:
        mailing_id = await a_mailing(bot)
        dying = Launcher(
            DiesBeforeTheRecipients(bot.app.db.engine), JinjaRenderer(), frozenset(Channel)
        )
        order = launch.LaunchOrder(mailing_id, launch.LaunchKind.now, actor_id=M)
        with contextlib.suppress(Crash):
            await launch.start(bot.app.db.uow_factory, dying, order)
        cut = await last_run(bot, mailing_id)
    assert cut.status is RunStatus.paused and cut.totals.total == 0

    async with running_bot(fake_api, migrated_pg_url) as again:
        for chat in READERS:
            await again.api.wait_for_message(chat, timeout=30)
        run = await last_run(again, mailing_id)
    assert run.id == cut.id and run.status in (RunStatus.running, RunStatus.completed)
    assert run.totals.total == len(READERS)
    async with again.app.db.uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None and mailing.status in (
        MailingStatus.running,
        MailingStatus.completed,
    )
