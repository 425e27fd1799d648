"""Fixing the text of delivered copies through the bot: "✏️ Fix the text" on a finished
run's card asks for the new text, checks it (too long: a clear message, nothing changed),
shows it as the copies will read, then edits every copy still in its chat through the
delivery engine (editMessageText on the fake Bot API), each with its own placeholders,
the URL buttons kept; a copy the recipient deleted is reported, and once every copy is
recalled there is nothing left to edit."""

from __future__ import annotations

import pytest

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import RunKind, RunStatus
from tests.e2e.conftest import BotHarness, grant
from tests.e2e.test_recall import send_run_id
from tests.fakes.bot_api import SentMessage

M = 2002
READERS = [7601, 7602, 7603]
BODY = "Hi {{ name }}, the price is 10 €"
NEW = "Hi {{ name }}, the price is <b>12 €</b>"
TYPED = "Hi {{ name }}, the price is 12 €"  # with "12 €" in bold, as the manager types it
BOLD = [{"type": "bold", "offset": len("Hi {{ name }}, the price is "), "length": 4}]


@pytest.fixture
async def sent(bot: BotHarness) -> tuple[BotHarness, int]:
    await grant(bot, M)
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Fix readers", M))
        ids = [
            (
                await uow.addresses.upsert(
                    Address(AddressKind.telegram, str(chat), {"name": f"R{chat}"})
                )
            ).id
            or 0
            for chat in READERS
        ]
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Prices",
                channel=Channel.telegram,
                body=BODY,
                list_ids=[rlist.id],
                options={"buttons": [[{"text": "Shop", "url": "https://example.com/shop"}]]},
            )
        )
        await uow.commit()
    assert mailing.id is not None
    await card(bot, mailing.id)
    bot.api.press(M, "🚀 Launch")
    await bot.api.wait_for_message(M, contains="Summary", timeout=20)
    return bot, mailing.id


async def card(bot: BotHarness, mailing_id: int) -> SentMessage:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Prices")


async def run_card(bot: BotHarness, mailing_id: int) -> SentMessage:
    opened = await card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=opened.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)


def copy_in(bot: BotHarness, chat: int) -> SentMessage:
    (copy,) = bot.api.messages(chat)
    return copy


async def test_the_text_is_fixed_in_every_copy_and_once_all_are_recalled_nothing_is_left_to_fix(
    sent: tuple[BotHarness, int],
) -> None:
    bot, mailing_id = sent
    copy_in(bot, READERS[2]).deleted = True  # the recipient deleted it
    figures = await run_card(bot, mailing_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "✏️ Fix the text", message_id=figures.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Fix the text of run")
    current = await bot.api.wait_for_message(M, since=mark, contains="10 €")
    assert current.raw_text == BODY

    too_long = await bot.say(M, "x" * 4097)
    assert too_long.text == (
        "The new text is 4097 characters long; Telegram allows 4096 here."
        " Shorten it and send it again."
    )
    mark = bot.api.mark(M)
    bot.api.send_text(M, TYPED, entities=BOLD)
    confirm = await bot.api.wait_for_message(M, since=mark, contains="Replace the text")
    preview = await bot.api.wait_for_message(M, since=mark, contains="12 €")
    assert preview.buttons == ["Shop"] and preview.message_id < confirm.message_id
    assert preview.raw_text is not None and "{{" not in preview.raw_text
    assert preview.raw_text.endswith("the price is <b>12 €</b>")
    assert all(copy_in(bot, chat).edits == 0 for chat in READERS)  # nothing yet

    mark = bot.api.mark(M)
    bot.api.press(M, "✅ Replace, keep the buttons", message_id=confirm.message_id)
    summary = await bot.api.wait_for_message(M, since=mark, contains="fixed</b>", timeout=20)
    assert "✅ fixed: 2" in summary.text and "❌ not fixed: 1" in summary.text
    for chat in READERS[:2]:
        copy = copy_in(bot, chat)
        assert copy.raw_text == f"Hi R{chat}, the price is <b>12 €</b>"
        assert copy.buttons == ["Shop"] and copy.edits == 1
    async with bot.app.db.uow_factory() as uow:
        (fix,) = await uow.runs.follow_ups(await send_run_id(bot, mailing_id))
    assert fix.kind is RunKind.edit and fix.status is RunStatus.completed
    assert (fix.totals.delivered, fix.totals.failed) == (2, 1)

    again = await run_card(bot, mailing_id)
    assert "fixed 2 · not fixed 1" in again.text

    # copies all recalled leave nothing to fix
    edits = [copy_in(bot, chat).edits for chat in READERS]
    figures = await run_card(bot, mailing_id)
    confirm = await bot.press(M, "🗑 Delete from recipients' chats", message_id=figures.message_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🗑 Yes, delete them", message_id=confirm.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="deleted from chats", timeout=20)

    figures = await run_card(bot, mailing_id)
    bot.api.press(M, "✏️ Fix the text", message_id=figures.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Fix the text of run")
    mark = bot.api.mark(M)
    bot.api.send_text(M, TYPED, entities=BOLD)
    confirm = await bot.api.wait_for_message(M, since=mark, contains="Replace the text")
    answer = await bot.alert(
        M, f"fu:edy:{mailing_id}:{await send_run_id(bot, mailing_id)}", confirm.message_id
    )
    assert (
        answer["text"] == "Every copy of this run is gone already (deleted before): nothing to do."
    )
    assert [copy_in(bot, chat).edits for chat in READERS] == edits  # no more edits
