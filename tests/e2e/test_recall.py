"""Recall through the bot: "Delete from recipients' chats" on a finished run's card deletes
every copy still in its chat through the delivery engine (deleteMessage on the fake Bot
API, which refuses copies older than 48 hours), with a live progress message, per-recipient
results, and the count on the run's card; the mailing itself is left alone."""

from __future__ import annotations

import asyncio
import csv
import io

from sqlalchemy import text

from domain.follow_ups import KEPT
from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import RunKind, RunStatus
from tests.e2e.conftest import BotHarness, grant
from tests.e2e.test_stats import export
from tests.fakes.bot_api import SentMessage

M, OTHER = 2002, 2003
# Each case recalls a run of its own, sent to readers of its own: one bot walks them all
# (each case started a bot and sent its run there).
READERS = [7501, 7502, 7503, 7504, 7505]


async def test_recalls_of_fresh_old_forged_and_repeated_requests(bot: BotHarness) -> None:
    await grant(bot, M, OTHER)
    await a_second_recall_finds_nothing_left_and_changes_nothing(
        bot, await sent(bot, "Oops 1", readers(1))
    )
    await a_forged_recall_deletes_nothing_and_the_owners_deletes_fresh_copies_keeps_old_ones(
        bot, await sent(bot, "Oops 2", readers(2))
    )
    await a_recall_after_48_hours_says_nothing_can_be_deleted(
        bot, await sent(bot, "Oops 3", readers(3))
    )


def readers(case: int) -> list[int]:
    """READERS for the first case, then 100 further on for each."""
    return [chat + 100 * (case - 1) for chat in READERS]


async def sent(bot: BotHarness, name: str, chats: list[int]) -> tuple[int, list[int]]:
    """A Telegram mailing delivered to four readers; the fifth blocked the bot."""
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"Recall readers of {name}", M))
        ids = [
            (await uow.addresses.upsert(Address(AddressKind.telegram, str(chat)))).id or 0
            for chat in chats
        ]
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name=name,
                channel=Channel.telegram,
                body="Wrong price: 10 €",
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    bot.api.block(chats[4])
    await open_card(bot, mailing.id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🚀 Launch")
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=20)
    return mailing.id, chats


async def open_card(bot: BotHarness, mailing_id: int) -> SentMessage:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Oops")  # Oops 1, 2 or 3


async def run_card(bot: BotHarness, mailing_id: int) -> SentMessage:
    card = await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=card.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)


async def sent_long_ago(bot: BotHarness, chat: int, *, in_database: bool) -> None:
    """The copy in ``chat`` was sent 49 hours ago: for Telegram (the fake's clock) and,
    if ``in_database``, for MailForge too."""
    bot.api.age(chat, 49)
    if in_database:
        async with bot.app.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE deliveries SET updated_at = updated_at - INTERVAL '49 hours'"
                    " WHERE address_id = (SELECT id FROM addresses"
                    " WHERE kind = 'telegram' AND value = :chat)"
                ),
                {"chat": str(chat)},
            )


def copy_in(bot: BotHarness, chat: int) -> SentMessage:
    found = [m for m in bot.api.messages(chat) if m.raw_text == "Wrong price: 10 €"]
    assert len(found) == 1
    return found[0]


async def a_second_recall_finds_nothing_left_and_changes_nothing(
    bot: BotHarness, sent: tuple[int, list[int]]
) -> None:
    mailing_id, _ = sent
    deletes = bot.api.request_count("deleteMessage")  # of the cases before
    figures = await run_card(bot, mailing_id)
    confirm = await bot.press(M, "🗑 Delete from recipients' chats", message_id=figures.message_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🗑 Yes, delete them", message_id=confirm.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="deleted from chats", timeout=20)
    assert bot.api.request_count("deleteMessage") - deletes == 4

    answer = await bot.alert(
        M, f"fu:rcy:{mailing_id}:{await send_run_id(bot, mailing_id)}", confirm.message_id
    )
    assert (
        answer["text"] == "Every copy of this run is gone already (deleted before): nothing to do."
    )
    assert bot.api.request_count("deleteMessage") - deletes == 4


async def a_forged_recall_deletes_nothing_and_the_owners_deletes_fresh_copies_keeps_old_ones(
    bot: BotHarness, sent: tuple[int, list[int]]
) -> None:
    mailing_id, chats = sent
    deletes = bot.api.request_count("deleteMessage")  # of the cases before
    menu = await bot.say(OTHER, "/help", language_code="en")
    run_id = await send_run_id(bot, mailing_id)
    answer = await bot.alert(OTHER, f"fu:rcy:{mailing_id}:{run_id}", menu.message_id)
    assert answer["text"] == "There is no such mailing, or it is not yours."
    assert bot.api.request_count("deleteMessage") - deletes == 0
    async with bot.app.db.uow_factory() as uow:
        assert await uow.runs.follow_ups(run_id) == []

    # recall deletes fresh copies and reports old ones as kept
    # The third: MailForge knows it is old (kept without asking); the fourth: only Telegram knows
    # (its refusal is recorded as kept as well).
    await sent_long_ago(bot, chats[2], in_database=True)
    await sent_long_ago(bot, chats[3], in_database=False)
    figures = await run_card(bot, mailing_id)
    assert "🗑 Delete from recipients' chats" in figures.buttons

    confirm = await bot.press(M, "🗑 Delete from recipients' chats", message_id=figures.message_id)
    assert "4 copies were delivered" in confirm.text and "48 hours" in confirm.text
    assert not any(m.deleted for chat in chats[:4] for m in bot.api.messages(chat))

    mark = bot.api.mark(M)
    bot.api.press(M, "🗑 Yes, delete them", message_id=confirm.message_id)
    summary = await bot.api.wait_for_message(
        M, since=mark, contains="deleted from chats", timeout=20
    )
    assert "✅ deleted: 2" in summary.text and "❌ not deleted: 2" in summary.text

    assert copy_in(bot, chats[0]).deleted and copy_in(bot, chats[1]).deleted
    assert not copy_in(bot, chats[2]).deleted and not copy_in(bot, chats[3]).deleted
    assert bot.api.request_count("deleteMessage") - deletes == 3  # the third was never asked

    async with bot.app.db.uow_factory() as uow:
        source = await uow.runs.last_for_mailing(mailing_id)
        assert source is not None and source.id is not None
        (recall,) = await uow.runs.follow_ups(source.id)
        mailing = await uow.mailings.get(mailing_id)
    assert recall.kind is RunKind.recall and recall.status is RunStatus.completed
    assert (recall.totals.delivered, recall.totals.failed) == (2, 2)
    assert mailing is not None and mailing.status is MailingStatus.completed
    async with bot.app.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT a.value, d.status, d.last_error FROM deliveries AS d"
                    " JOIN addresses AS a ON a.id = d.address_id WHERE d.run_id = :run"
                    " ORDER BY a.value"
                ),
                {"run": recall.id},
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [
        (str(chats[0]), "delivered"),
        (str(chats[1]), "delivered"),
        (str(chats[2]), "failed"),
        (str(chats[3]), "failed"),
    ]
    assert rows[2][2] == KEPT and rows[3][2] == KEPT

    again = await run_card(bot, mailing_id)
    assert "deleted 2 · kept (older than 48 h) 2 · not deleted 0" in again.text
    assert "✅ Delivered: 4" in again.text  # the send run's own figures stay

    # The send run's per-recipient report says what the recall did to each copy.
    report = csv.DictReader(io.StringIO((await export(bot, "CSV", again, 5)).decode("utf-8-sig")))
    assert {row["address"]: (row["status"], row["recall"]) for row in report} == {
        str(chats[0]): ("delivered", "deleted"),
        str(chats[1]): ("delivered", "deleted"),
        str(chats[2]): ("delivered", "kept"),
        str(chats[3]): ("delivered", "kept"),
        str(chats[4]): ("refused", ""),
    }


async def send_run_id(bot: BotHarness, mailing_id: int) -> int:
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None and run.id is not None
    return run.id


async def a_recall_after_48_hours_says_nothing_can_be_deleted(
    bot: BotHarness, sent: tuple[int, list[int]]
) -> None:
    mailing_id, chats = sent
    deletes = bot.api.request_count("deleteMessage")  # of the cases before
    for chat in chats[:4]:
        await sent_long_ago(bot, chat, in_database=True)
    figures = await run_card(bot, mailing_id)
    confirm = await bot.press(M, "🗑 Delete from recipients' chats", message_id=figures.message_id)
    answer = await bot.alert(
        M, f"fu:rcy:{mailing_id}:{await send_run_id(bot, mailing_id)}", confirm.message_id
    )
    assert answer["show_alert"] is True
    assert answer["text"] == (
        "Nothing can be deleted: the 4 copies left were sent more than 48 hours ago, and"
        " Telegram lets a bot delete its messages for 48 hours only. They are reported as kept."
    )
    assert bot.api.request_count("deleteMessage") - deletes == 0
    assert not any(m.deleted for chat in chats for m in bot.api.messages(chat))

    async def recorded() -> bool:
        async with bot.app.db.uow_factory() as uow:
            (recall,) = await uow.runs.follow_ups(await send_run_id(bot, mailing_id))
        return recall.status is RunStatus.completed and recall.totals.failed == 4

    deadline = asyncio.get_running_loop().time() + 30
    while not await recorded():
        assert asyncio.get_running_loop().time() < deadline, "the recall never ended"
        await asyncio.sleep(0.2)
    again = await run_card(bot, mailing_id)
    assert "deleted 0 · kept (older than 48 h) 4 · not deleted 0" in again.text
