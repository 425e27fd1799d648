"""Statistics and exports through the bot: a launched mailing's counts, its chart (a real
PNG), the per-recipient report as CSV and XLSX parsed back to the same counts, the run
history, a forged button for someone else's mailing, and the admins' /stats."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter

import matplotlib.image
from openpyxl import load_workbook

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import RunStatus
from tests.e2e.conftest import ADMIN, BotHarness, grant
from tests.fakes.bot_api import SentMessage

M, OTHER = 2002, 2003
READERS = [7401, 7402, 7403, 7404]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED = {"delivered": 2, "refused": 1, "failed": 1}


def assert_real_png(message: SentMessage) -> None:
    assert message.kind == "photo" and message.file is not None
    content = message.file.content
    assert content.startswith(PNG_SIGNATURE)
    pixels = matplotlib.image.imread(io.BytesIO(content), format="png")
    height, width = pixels.shape[:2]
    assert width > 300 and height > 200


async def test_statistics_of_a_launched_a_never_launched_and_a_cancelled_mailing(
    bot: BotHarness,
) -> None:
    """One bot (each case started its own): the launched mailing's statistics and the
    admins' /stats first, while its run is the only one, then a draft and a cancelled run."""
    await a_launched_mailings_statistics_exports_and_admin_stats(await sent(bot))
    await a_mailing_never_launched_and_a_cancelled_run_read_as_such(bot)


async def sent(bot: BotHarness) -> tuple[BotHarness, int]:
    """A Telegram mailing to four readers, launched through the card: 2 delivered, one
    reader blocked the bot (refused), one chat is unknown (failed)."""
    await grant(bot, M, OTHER)
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Stat readers", M))
        ids = [
            (await uow.addresses.upsert(Address(AddressKind.telegram, str(chat)))).id or 0
            for chat in READERS
        ]
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Weekly",
                channel=Channel.telegram,
                body="Hello",
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    assert mailing.id is not None
    bot.api.block(READERS[2])
    bot.api.forget_chat(READERS[3])
    await open_card(bot, mailing.id)
    bot.api.press(M, "🚀 Launch")
    await bot.api.wait_for_message(M, contains="Summary", timeout=20)
    return bot, mailing.id


async def open_card(bot: BotHarness, mailing_id: int) -> SentMessage:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Weekly")


async def a_launched_mailings_statistics_exports_and_admin_stats(
    sent: tuple[BotHarness, int],
) -> None:
    bot, mailing_id = sent
    summary = await bot.api.wait_for_message(M, contains="Summary")
    assert "📊 Statistics" in summary.buttons
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=summary.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)
    assert "Weekly" in figures.text and "✅ Delivered: 2" in figures.text

    # statistics show counts reasons and a real png chart
    card = await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=card.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)
    for line in ("✅ Delivered: 2", "❌ Failed: 1", "🚫 Refused: 1", "⛔ Not sent: 0"):
        assert line in figures.text
    assert "Recipients: 4" in figures.text and "Main failure reasons" in figures.text
    # One line per kind of failure, with its count.
    assert "• Bad Request: chat not found × 1 (failed)" in figures.text
    assert "• Forbidden: bot was blocked by the user × 1 (refused)" in figures.text
    photo = await bot.api.wait_for_message(M, since=mark, predicate=lambda m: m.kind == "photo")
    assert_real_png(photo)
    assert photo.message_id < figures.message_id  # the chart comes first, buttons below

    history = await bot.press(M, "🗂 Run history", message_id=figures.message_id)
    assert "Runs of Weekly: 1" in history.text
    assert len(history.buttons) == 2 and history.buttons[0].startswith("#")
    again = bot.api.mark(M)
    bot.api.press(M, history.buttons[0], message_id=history.message_id)
    reopened = await bot.api.wait_for_message(M, since=again, contains="Delivered:", timeout=20)
    assert "✅ Delivered: 2" in reopened.text

    # the exports parse back to the same counts
    card = await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=card.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)

    rows = list(
        csv.DictReader(io.StringIO((await export(bot, "CSV", figures)).decode("utf-8-sig")))
    )
    assert list(rows[0]) == [
        *("address", "channel", "status", "attempts", "last_error", "time_utc"),
        *("bounce", "bounce_reason", "opened_utc", "clicks", "variant", "recall", "answer"),
        "possibly_sent_twice",
    ]
    assert Counter(row["status"] for row in rows) == EXPECTED
    assert {row["address"] for row in rows} == {str(chat) for chat in READERS}
    assert {row["channel"] for row in rows} == {"telegram"}
    failed = next(row for row in rows if row["status"] == "failed")
    assert "chat not found" in failed["last_error"] and failed["attempts"] == "1"

    book = load_workbook(io.BytesIO(await export(bot, "XLSX", figures)), read_only=True)
    header, *cells = list(book.active.iter_rows(values_only=True))
    assert header[:3] == ("address", "channel", "status")
    assert Counter(row[2] for row in cells) == EXPECTED
    assert {row[0] for row in cells} == {str(chat) for chat in READERS}

    # a forged button for another managers mailing is refused
    menu = await bot.say(OTHER, "/help", language_code="en")
    for act in ("show", "hist"):
        answer = await bot.alert(OTHER, f"st:{act}:{mailing_id}:0:0", menu.message_id)
        assert answer["text"] == "There is no such mailing, or it is not yours."
    mark = bot.api.mark(OTHER)
    bot.api.press_data(OTHER, f"st:csv:{mailing_id}:1:0", menu.message_id)
    refusal = await bot.api.wait_for_message(OTHER, since=mark, contains="not yours")
    assert refusal.kind == "text"
    assert not any(m.kind in ("photo", "document") for m in bot.api.messages(OTHER))

    # admin stats shows sends per channel with a chart
    mark = bot.api.mark(ADMIN)
    bot.api.send_text(ADMIN, "/stats", language_code="en")
    text = await bot.api.wait_for_message(ADMIN, since=mark, contains="Sends per channel")
    for period in ("Last 24 hours", "Last 7 days", "Last 30 days"):
        assert period in text.text
    assert text.text.count("Telegram: 4 (✅ 2, ❌ 1, 🚫 1)") == 3
    assert "Test sends are left out" in text.text
    photo = await bot.api.wait_for_message(
        ADMIN, since=mark, predicate=lambda m: m.kind == "photo"
    )
    assert_real_png(photo)

    # managers have no stats command
    await bot.say(M, "/stats", language_code="en")
    assert not any(m.kind == "photo" for m in bot.api.messages(M)[-3:])
    assert "stats" not in bot.api.commands_for(M, "en")
    assert "stats" in bot.api.commands_for(ADMIN, "en")

    # admin stats leave test sends out unless asked
    card = await open_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:test:{mailing_id}:0:", card.message_id)  # 🧪 Test to me
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=20)
    mark = bot.api.mark(ADMIN)
    bot.api.send_text(ADMIN, "/stats", language_code="en")
    plain = await bot.api.wait_for_message(ADMIN, since=mark, contains="Sends per channel")
    assert plain.text.count("Telegram: 4 (✅ 2, ❌ 1, 🚫 1)") == 3
    mark = bot.api.mark(ADMIN)
    bot.api.send_text(ADMIN, "/stats tests", language_code="en")
    full = await bot.api.wait_for_message(ADMIN, since=mark, contains="Sends per channel")
    assert full.text.count("Telegram: 5 (✅ 3, ❌ 1, 🚫 1)") == 3
    assert "Test sends are counted too" in full.text


async def a_mailing_never_launched_and_a_cancelled_run_read_as_such(bot: BotHarness) -> None:
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(owner_id=M, name="Weekly draft", channel=Channel.telegram)
        )
        await uow.commit()
    card = await open_card(bot, mailing.id or 0)
    assert "📊 Statistics" not in card.buttons
    answer = await bot.alert(M, f"st:show:{mailing.id}:0:0", card.message_id)
    assert answer["text"] == "This mailing has not been launched yet: there are no statistics."

    # a cancelled run's rest reads "not sent" everywhere
    chats = list(range(7501, 7561))
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Many", M))
        ids = [
            (await uow.addresses.upsert(Address(AddressKind.telegram, str(c)))).id or 0
            for c in chats
        ]
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Weekly, cancelled",  # the launched one is "Weekly"
                channel=Channel.telegram,
                body="Hi",
                list_ids=[rlist.id],
            )
        )
        await uow.commit()
    # one message gets through, the others wait until the cancel is recorded: half way
    release = bot.api.hold_sends(chats, let_through=1)
    card = await open_card(bot, mailing.id or 0)
    launched = bot.api.mark(M)  # the launched mailing's summary came before
    bot.api.press_data(M, f"m:launch:{mailing.id}:0:", card.message_id)
    for _ in range(200):
        if any(bot.api.messages(c) for c in chats):
            break
        await asyncio.sleep(0.05)
    bot.api.press_data(M, f"m:cancel:{mailing.id}:0:", card.message_id)
    for _ in range(200):
        async with bot.app.db.uow_factory() as uow:
            run = await uow.runs.last_for_mailing(mailing.id or 0)
        if run is not None and run.status is RunStatus.cancelled:
            break
        await asyncio.sleep(0.05)
    release.set()
    summary = await bot.api.wait_for_message(M, since=launched, contains="Summary", timeout=20)
    for _ in range(100):  # until the batch in flight is recorded
        async with bot.app.db.uow_factory() as uow:
            run = await uow.runs.last_for_mailing(mailing.id or 0)
        assert run is not None
        if run.totals.delivered == sum(1 for c in chats if bot.api.messages(c)):
            break
        await asyncio.sleep(0.1)
    assert 0 < run.totals.pending < 60
    left = run.totals.pending
    card = await open_card(bot, mailing.id or 0)
    assert f"not sent {left}" in card.text and "pending" not in card.text
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=card.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)
    assert f"⛔ Not sent: {left}" in figures.text and "Pending" not in figures.text
    rows = list(
        csv.DictReader(io.StringIO((await export(bot, "CSV", figures, 60)).decode("utf-8-sig")))
    )
    assert Counter(row["status"] for row in rows)["not sent"] == left
    assert "pending" not in {row["status"] for row in rows}
    assert "not sent" in summary.text


async def export(bot: BotHarness, button: str, figures: SentMessage, count: int = 4) -> bytes:
    mark = bot.api.mark(M)
    bot.api.press(M, button, message_id=figures.message_id)
    document = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: m.kind == "document", timeout=20
    )
    assert document.file is not None and f"{count} rows" in (document.caption or "")
    return document.file.content
