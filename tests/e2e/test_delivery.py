"""Launching mailings through the bot: the engine sends through the fake Bot API, every
recipient's fate is recorded, and the launching manager watches one progress message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import RunStatus
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_local_time import FakeClock
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp

M = 2002
READERS = [7001, 7002, 7003, 7004]


@pytest.fixture
async def ready(bot: BotHarness) -> tuple[BotHarness, int]:
    await grant(bot, M)
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", M))
        ids = []
        for chat in READERS:
            address = await uow.addresses.upsert(
                Address(AddressKind.telegram, str(chat), {"name": f"Reader {chat}"})
            )
            ids.append(address.id)
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, [i for i in ids if i is not None])
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="News",
                channel=Channel.telegram,
                body="<b>Hi</b> {{ name }}",
                list_ids=[rlist.id],
                options={"buttons": [[{"text": "Open", "url": "https://example.com"}]]},
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return bot, mailing.id


async def open_card(bot: BotHarness, mailing_id: int) -> None:
    await open_card_of(bot, mailing_id, "News")


async def change(bot: BotHarness, mailing_id: int, **fields: object) -> None:
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
        assert mailing is not None
        for name, value in fields.items():
            setattr(mailing, name, value)
        await uow.mailings.update(mailing)
        await uow.commit()


async def press_launch(bot: BotHarness, mailing_id: int) -> str:
    """Press a forged 🚀 Launch of ``mailing_id``; the callback answer's text."""
    menu = await bot.say(M, "/help", language_code="en")
    answers = len(bot.api.callback_answers)
    bot.api.press_data(M, f"m:launch:{mailing_id}:0:", menu.message_id)
    answer = await bot.api.wait_for_callback_answer(since=answers)
    return str(answer["text"])


async def test_refused_launches_a_test_send_and_a_launch_with_every_fate(
    ready: tuple[BotHarness, int],
) -> None:
    bot, mailing_id = ready
    # a second launch of a running mailing starts nothing
    await change(bot, mailing_id, status=MailingStatus.running)
    assert "already running" in await press_launch(bot, mailing_id)
    async with bot.app.db.uow_factory() as uow:
        assert await uow.runs.last_for_mailing(mailing_id) is None
    await change(bot, mailing_id, status=MailingStatus.draft)

    # a launch without recipients is refused
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None
    await change(bot, mailing_id, list_ids=[])
    refused = await press_launch(bot, mailing_id)
    assert refused.startswith("Cannot launch: no recipient lists are chosen.")
    await change(bot, mailing_id, list_ids=mailing.list_ids)

    # a schedule can be stopped, resumed and removed with its mailing (a copy of it)
    async with bot.app.db.uow_factory() as uow:
        later = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Later",
                channel=Channel.telegram,
                body="Later",
                list_ids=mailing.list_ids,
                schedule=Schedule(ScheduleKind.once, run_at=datetime.now(UTC) + timedelta(days=1)),
            )
        )
        await uow.commit()
    assert later.id is not None
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:sched:{later.id}:0:", menu.message_id)
    card = await bot.api.wait_for_message(M, since=mark, contains="Scheduled.")
    assert "🕐 Scheduled for" in card.text
    stopped = await bot.press(M, "⏹ Stop the schedule", message_id=card.message_id)
    assert "Taken off the schedule" in stopped.text and "📝 draft" in stopped.text
    again = await bot.press(M, "🕐 Schedule", message_id=stopped.message_id)
    assert "Scheduled." in again.text
    await bot.press(M, "🗑 Delete", message_id=again.message_id)
    gone = await bot.press(M, "🗑 Yes, delete")
    assert gone.text == "The mailing is deleted."
    fired = await bot.app.scheduler.tick()  # nothing is left to fire
    assert fired == []
    async with bot.app.db.uow_factory() as uow:
        actions = [e.action for e in await uow.audit.recent(20)]
    assert {"mailing.schedule", "mailing.unschedule", "mailing.delete"} <= set(actions)

    # a test send reaches only the manager
    await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🧪 Test to me")
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=15)
    mine = [m for m in bot.api.messages(M) if m.raw_text.startswith("<b>Hi</b>")]
    # The preview's sample recipient fills the placeholders, not the tester's empty fields.
    assert [m.raw_text for m in mine] == ["<b>Hi</b> Reader 7001"]
    assert all(not bot.api.messages(chat) for chat in READERS)
    async with bot.app.db.uow_factory() as uow:
        tested = await uow.mailings.get(mailing_id)
    assert tested is not None and tested.status is MailingStatus.draft

    # the launch delivers, refuses and fails per recipient
    bot.api.block(7003)  # 403: bot was blocked by the user → refused, suppressed
    bot.api.forget_chat(7004)  # 400: chat not found → failed
    await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🚀 Launch")
    summary = await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=15)
    assert "delivered: 2" in summary.text and "refused: 1" in summary.text
    assert "failed: 1" in summary.text and "4 of 4" in summary.text
    for chat in (7001, 7002):
        got = bot.api.messages(chat)
        assert len(got) == 1 and got[0].raw_text == f"<b>Hi</b> Reader {chat}"
        assert got[0].buttons == ["Open"]
    async with bot.app.db.uow_factory() as uow:
        launched = await uow.mailings.get(mailing_id)
        blocked = await uow.addresses.find(AddressKind.telegram, "7003")
        run = await uow.runs.last_for_mailing(mailing_id)
    assert launched is not None and launched.status is MailingStatus.completed
    assert blocked is not None and blocked.refused_at is not None
    assert run is not None and run.status is RunStatus.completed
    assert (run.totals.delivered, run.totals.refused, run.totals.failed) == (2, 1, 1)


async def test_a_scheduled_mailing_is_delivered_at_its_time(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    """The scheduler reads a fake clock (the rest of the bot the real one), so the test
    moves it past the mailing's time instead of waiting for it: the time was 4 s ahead,
    and the test waited them out."""
    async with running_bot(fake_api, migrated_pg_url, scheduler_tick_seconds=1) as bot:
        clock = FakeClock(datetime.now(UTC))
        bot.app.scheduler.clock = clock
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("One", M))
            reader = await uow.addresses.upsert(Address(AddressKind.telegram, "7101"))
            assert rlist.id is not None and reader.id is not None
            await uow.members.add_members(rlist.id, [reader.id])
            at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=M,
                    name="Timed",
                    channel=Channel.telegram,
                    body="On time",
                    list_ids=[rlist.id],
                    schedule=Schedule(ScheduleKind.once, run_at=at),
                )
            )
            await uow.commit()
        assert mailing.id is not None
        menu = await bot.say(M, "/help", language_code="en")
        mark = bot.api.mark(M)
        bot.api.press_data(M, f"m:sched:{mailing.id}:0:", menu.message_id)
        card = await bot.api.wait_for_message(M, since=mark, contains="Scheduled.")
        assert "🕐 Scheduled for" in card.text and "🕐 scheduled" in card.text
        assert await bot.app.scheduler.tick() == []  # not before its time
        assert bot.api.messages(7101) == []
        clock.set(at + timedelta(seconds=1))  # the scheduler's next tick is after it
        got = await bot.api.wait_for_message(7101, contains="On time", timeout=20)
        assert got.raw_text == "On time"
        async with bot.app.db.uow_factory() as uow:
            run = await uow.runs.last_for_mailing(mailing.id)
        assert run is not None and abs((run.scheduled_for - at).total_seconds()) < 0.001


async def test_the_embedded_default_sqlite_sends_too(
    fake_api: FakeBotAPI, migrated_sqlite_url: str
) -> None:
    """`scripts/run` uses SQLite with in-process workers: the same launch works there."""
    async with running_bot(fake_api, migrated_sqlite_url) as bot:
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Local", M))
            ids = [
                (await uow.addresses.upsert(Address(AddressKind.telegram, str(c)))).id
                for c in (7301, 7302, 7303)
            ]
            assert rlist.id is not None
            await uow.members.add_members(rlist.id, [i for i in ids if i is not None])
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=M,
                    name="Local",
                    channel=Channel.telegram,
                    body="Hello",
                    list_ids=[rlist.id],
                )
            )
            await uow.commit()
        await open_card_of(bot, mailing.id or 0, "Local")
        bot.api.press(M, "🚀 Launch")
        summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)
        assert "delivered: 3" in summary.text
        assert all(len(bot.api.messages(c)) == 1 for c in (7301, 7302, 7303))


async def open_card_of(bot: BotHarness, mailing_id: int, name: str) -> None:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    await bot.api.wait_for_message(M, since=mark, contains=name)


async def test_an_email_test_asks_where_and_reaches_only_that_address(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with (
        FakeSmtp() as smtp,
        running_bot(
            fake_api,
            migrated_pg_url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="News <news@example.com>",
        ) as bot,
    ):
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Mails", M))
            reader = await uow.addresses.upsert(
                Address(AddressKind.email, "reader@example.com", {"name": "Anna"})
            )
            assert rlist.id is not None and reader.id is not None
            await uow.members.add_members(rlist.id, [reader.id])
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=M,
                    name="Letter",
                    channel=Channel.email,
                    subject="Hi {{ email }}",
                    body="<b>Hello</b> {{ name }}",
                    list_ids=[rlist.id],
                )
            )
            await uow.commit()
        await open_card_of(bot, mailing.id or 0, "Letter")
        preview = await bot.press(M, "👁 Preview")
        assert preview.text == "Hi reader@example.com\n\nHello Anna"
        report = await bot.api.wait_for_message(M, contains="Preview: Letter")
        ask = await bot.press(M, "🧪 Test to me", message_id=report.message_id)
        assert "Which email should the test go to?" in ask.text
        await bot.say(M, "Me@Example.com", language_code="en")
        await bot.api.wait_for_message(M, contains="Summary", timeout=15)
        assert [m.message["To"] for m in smtp.messages] == ["me@example.com"]
        # The test reads as the preview did: the same sample recipient fills the placeholders.
        sent = smtp.messages[0].message
        assert sent["Subject"] == "Hi reader@example.com"
        assert "Hello Anna" in sent.get_body(("plain",)).get_content()
        assert smtp.received_by("reader@example.com") == []
