"""The final summary always reaches the manager (issue 17, point 4): as a new message
when the progress message was deleted or after a restart, and the card button of a
progress message no longer edits the progress away; a scheduled run tells its owner when
it starts and when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.mailings import MailingStatus, Schedule, ScheduleKind
from domain.runs import ProgressMessage, RunStatus
from domain.usecases import progress
from tests.e2e.conftest import BotHarness
from tests.e2e.test_delivery_faults import M, chats_of, current_run, prepare, press, telegram
from tests.fakes.bot_api import FakeBotAPI

# Runs are held half way on state (the fake's hold_sends), not made long: they sent to
# 30 chats with 50 ms per send (a few seconds each) so as to still be sending when the
# test deleted their progress message or pressed its card button.
CHATS = chats_of(810_001, 5)
ALL = f"{len(CHATS)} of {len(CHATS)}"


def summaries(api: FakeBotAPI, since_id: int = 0) -> list[int]:
    return [
        m.message_id
        for m in api.messages(M)
        if not m.deleted and m.message_id > since_id and "Summary" in (m.text or "")
    ]


async def test_the_summary_always_reaches_the_manager(
    bot: BotHarness, fake_api: FakeBotAPI
) -> None:
    held = fake_api.hold_sends(CHATS, let_through=1)
    mailing_id = await prepare(bot, telegram(CHATS))
    mark = fake_api.mark(M)
    await press(bot, "launch", mailing_id)
    shown = await fake_api.wait_for_message(M, since=mark, contains="Sending", timeout=20)
    shown.deleted = True  # the manager deleted it (or cleared the chat)
    held.set()
    summary = await fake_api.wait_for_message(M, since=mark, contains="Summary", timeout=60)
    assert summary.message_id > shown.message_id
    assert ALL in (summary.text or "")

    # the card button of a progress message opens the card below it
    held = fake_api.hold_sends(CHATS, let_through=1)
    mailing_id = await prepare(bot, telegram(CHATS), name="Storm 2")
    mark = fake_api.mark(M)
    await press(bot, "launch", mailing_id)
    shown = await fake_api.wait_for_message(M, since=mark, contains="Sending", timeout=20)
    answers = len(fake_api.callback_answers)
    fake_api.press_data(M, f"m:card:{mailing_id}:0:", shown.message_id)
    await fake_api.wait_for_callback_answer(since=answers)
    card = await fake_api.wait_for_message(M, since=mark, contains="Storm", timeout=20)
    held.set()
    await fake_api.wait_for_message(M, since=mark, contains="Summary", timeout=60)
    progress_now = fake_api.message(M, shown.message_id)
    assert card.message_id > shown.message_id  # a new message, the progress stays
    assert progress_now is not None and ALL in (progress_now.text or "")

    # after a restart a finished runs summary is a new message
    mailing_id = await prepare(bot, telegram(CHATS[:3]), name="Storm 3")
    mark = fake_api.mark(M)
    await press(bot, "launch", mailing_id)
    first = await fake_api.wait_for_message(M, since=mark, contains="Summary", timeout=30)
    run = await current_run(bot, mailing_id)
    assert run.id is not None and run.status is RunStatus.completed
    # As a bot that stopped before it showed the summary: the message is still followed.
    await progress.show_progress(
        bot.app.db.uow_factory, run.id, ProgressMessage(M, first.message_id, "en")
    )
    await bot.app.watcher.resume()
    again = await fake_api.wait_for_message(
        M, predicate=lambda m: m.message_id > first.message_id and "Summary" in (m.text or ""),
        timeout=20,
    )  # fmt: skip
    assert "3 of 3" in (again.text or "")

    # a scheduled run tells its owner when it starts and when it ends
    mailing_id = await prepare(bot, telegram(CHATS[:3]), name="Storm 4")
    await bot.say(M, "/help", language_code="en")
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
        assert mailing is not None
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        mailing.schedule = Schedule(ScheduleKind.once, run_at=at)
        mailing.status = MailingStatus.scheduled
        await uow.mailings.update(mailing)
        await uow.commit()
    mark = fake_api.mark(M)
    await bot.app.scheduler.tick()
    started = await fake_api.wait_for_message(M, since=mark, contains="has started", timeout=20)
    summary = await fake_api.wait_for_message(
        M, predicate=lambda m: m.message_id > started.message_id and "Summary" in (m.text or ""),
        timeout=30,
    )  # fmt: skip
    assert "The scheduled mailing Storm 4 has started" in (started.text or "")
    assert "3 of 3" in (summary.text or "")
    assert "has started" not in (summary.text or "")
    kept = fake_api.message(M, started.message_id)
    assert kept is not None and "has started" in (kept.text or "")  # the start stays said
