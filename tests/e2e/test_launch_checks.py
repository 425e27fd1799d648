"""One launch path: the Launch button, a test send and a scheduled slot are stopped by the
same checks, and a slot that cannot go out is told to its owner in their language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.runs import RunStatus
from tests.e2e.conftest import BotHarness, grant, readers_list

M = 2102
READERS = [7201, 7202]


class At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def a_mailing(bot: BotHarness, name: str = "Weekly <news>", **fields: object) -> int:
    await grant(bot, M)
    async with bot.app.db.uow_factory() as uow:
        readers = await uow.lists.find_by_name("Readers")
    list_id = readers.id if readers and readers.id else await readers_list(bot, M, READERS)
    async with bot.app.db.uow_factory() as uow:
        values: dict[str, object] = {
            "owner_id": M,
            "name": name,
            "channel": Channel.telegram,
            "body": "Hi",
            "list_ids": [list_id],
            **fields,
        }
        mailing = await uow.mailings.add(Mailing(**values))  # type: ignore[arg-type]
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


async def test_a_slot_a_check_stops_is_told_in_its_owners_language_and_a_test_send_is_checked_too(
    bot: BotHarness,
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    mailing_id = await a_mailing(
        bot,
        body="x" * 5000,
        schedule=Schedule(ScheduleKind.once, run_at=at),
        status=MailingStatus.scheduled,
    )
    await bot.say(M, "/help", language_code="en")  # the owner's Telegram speaks English
    mark = bot.api.mark(M)
    bot.app.scheduler.clock = At(at + timedelta(seconds=5))

    await bot.app.scheduler.tick()

    told = await bot.api.wait_for_message(M, since=mark)
    assert told.text.startswith("⏰ The scheduled mailing «Weekly <news>» did not go out at")
    assert "the text is longer than Telegram allows: 5000 of 4096 characters." in told.text
    assert "back in drafts" in told.text
    assert told.buttons == ["📬 Mailing card"]
    assert all(not bot.api.messages(chat) for chat in READERS)
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
        mailing = await uow.mailings.get(mailing_id)
    assert run is not None and (run.status, run.note) == (RunStatus.skipped, "preview-too-long")
    assert mailing is not None and mailing.status is MailingStatus.draft

    # a russian speaking owner is told in russian
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone(ZoneInfo("Europe/Moscow"))
    slot = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    await a_mailing(
        bot,
        "Daily",
        list_ids=[],
        schedule=Schedule(ScheduleKind.cron, cron="0 10 * * *", timezone="Europe/Moscow"),
        status=MailingStatus.scheduled,
    )
    await bot.say(M, "/help", language_code="ru")
    mark = bot.api.mark(M)
    bot.app.scheduler.clock = At(slot + timedelta(seconds=30))

    await bot.app.scheduler.tick()

    told = await bot.api.wait_for_message(M, since=mark)
    assert f"не ушла в {slot:%d.%m.%Y} 10:00: не выбраны списки получателей." in told.text
    assert "Следующие запуски пройдут по расписанию." in told.text

    # a test send is stopped by the same checks as a launch
    # SMTP is not configured here: a test of an email mailing cannot go out either.
    mailing_id = await a_mailing(bot, "Letter", channel=Channel.email, subject="News")
    menu = await bot.say(M, "/help", language_code="en")
    for action in ("test", "launch"):
        answers = len(bot.api.callback_answers)
        bot.api.press_data(M, f"m:{action}:{mailing_id}:0:", menu.message_id)
        answer = await bot.api.wait_for_callback_answer(since=answers)
        assert answer["text"].startswith("Cannot launch: the channel is not configured"), action
    async with bot.app.db.uow_factory() as uow:
        assert await uow.runs.last_for_mailing(mailing_id) is None
