"""Recipient lists in the bot: browse, create, members, search, add/remove, rename,
delete (refused while in use), bot subscribers, and the admin's /unsuppress."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import AddressKind
from tests.e2e.conftest import ADMIN, BotHarness, grant

MANAGER, OTHER = 2002, 2003


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await grant(bot, MANAGER, OTHER)
    yield bot


async def new_list(bot: BotHarness, user_id: int, name: str) -> int:
    await bot.say(user_id, "/lists", language_code="en")
    await bot.press(user_id, "➕ New list")
    card = await bot.say(user_id, name, language_code="en")
    assert f"📋 {name}" in card.text
    async with bot.app.db.uow_factory() as uow:
        found = await uow.lists.find_by_name(name)
    assert found is not None and found.id is not None
    return found.id


async def test_lists_made_filled_guarded_and_filled_from_bot_subscribers(
    staff: BotHarness,
) -> None:
    """One bot for the three journeys (each started its own): the first one begins with
    no list at all, the others add lists of their own names."""
    await a_manager_creates_fills_searches_and_empties_lists(staff)
    await only_the_owner_or_an_admin_renames_or_deletes_and_never_a_list_in_use(staff)
    await bot_subscribers_fill_a_list_and_an_admin_lifts_a_suppression(staff)


async def a_manager_creates_fills_searches_and_empties_lists(bot: BotHarness) -> None:
    empty = await bot.say(MANAGER, "/lists", language_code="en")
    assert "There are no lists yet" in empty.text
    await new_list(bot, MANAGER, "Clients 2026")
    index = await bot.say(MANAGER, "/lists", language_code="en")
    assert "Recipient lists</b> (1)" in index.raw_text
    assert "Clients 2026" in index.text and "email: 0 · Telegram: 0 · other: 0" in index.text
    assert "Source: typed in" in index.text
    assert index.buttons == ["📋 Clients 2026", "➕ New list", "🎯 Saved segments"]

    # list names are validated at the step
    await new_list(bot, MANAGER, "Team")
    await bot.say(MANAGER, "/lists", language_code="en")
    await bot.press(MANAGER, "➕ New list")
    taken = await bot.say(MANAGER, "team", language_code="en")
    assert "There is a list “team” already" in taken.text
    too_long = await bot.say(MANAGER, "x" * 101, language_code="en")
    assert "1 to 100 characters" in too_long.text
    created = await bot.say(MANAGER, "Partners", language_code="en")
    assert "📋 Partners" in created.text

    # add search page and remove members
    await new_list(bot, MANAGER, "VIP")
    await bot.press(MANAGER, "➕ Add address")
    for i in range(12):
        reply = await bot.say(MANAGER, f"user{i:02d}@Example.COM", language_code="en")
        assert f"Added: user{i:02d}@example.com" in reply.text
    again = await bot.say(MANAGER, "user00@example.com", language_code="en")
    assert "is in the list already" in again.text
    bad = await bot.say(MANAGER, "not-an-address", language_code="en")
    assert "“not-an-address” does not fit" in bad.text
    tg = await bot.say(MANAGER, "123456789", language_code="en")
    assert "Added: 123456789" in tg.text
    card = await bot.press(MANAGER, "Cancel")
    assert "13 in all" in card.text and "email: 12 · Telegram: 1" in card.text
    members = await bot.press(MANAGER, "👥 Members")
    assert "page 1 of 2 (13 in all)" in members.text
    assert "user00@example.com" in members.text and "user10@example.com" not in members.text
    second = await bot.press(MANAGER, "▶️")
    assert "page 2 of 2" in second.text and "123456789" in second.text
    await bot.press(MANAGER, "⬅️ Back")
    await bot.press(MANAGER, "🔍 Search")
    found = await bot.say(MANAGER, "user1", language_code="en")
    assert "2 found for “user1”" in found.text
    await bot.press(MANAGER, "Cancel")
    await bot.press(MANAGER, "➖ Remove address")
    removed = await bot.say(MANAGER, "USER05@example.com", language_code="en")
    assert "Removed from the list: user05@example.com" in removed.text
    missing = await bot.say(MANAGER, "nobody@example.com", language_code="en")
    assert "is not in this list" in missing.text


async def only_the_owner_or_an_admin_renames_or_deletes_and_never_a_list_in_use(
    bot: BotHarness,
) -> None:
    list_id = await new_list(bot, MANAGER, "Mine")
    other_card = await bot.say(OTHER, "/lists", language_code="en")
    await bot.press(OTHER, "📋 Mine", message_id=other_card.message_id)
    card = bot.api.last_message(OTHER)
    assert "✏️ Rename" not in card.buttons and "👥 Members" in card.buttons
    forged = await bot.alert(OTHER, f"l:delete_yes:{list_id}:0", card.message_id)
    assert "Only the list's author or an administrator" in forged["text"]
    forged = await bot.alert(OTHER, f"l:rename:{list_id}:0", card.message_id)
    assert bot.api.last_message(OTHER).text == card.text or forged is not None
    admin_index = await bot.say(ADMIN, "/lists", language_code="en")
    await bot.press(ADMIN, "📋 Mine", message_id=admin_index.message_id)
    await bot.press(ADMIN, "✏️ Rename")
    renamed = await bot.say(ADMIN, "Mine (renamed)", language_code="en")
    assert "The list is renamed: “Mine (renamed)”" in renamed.text
    async with bot.app.db.uow_factory() as uow:
        stored = await uow.lists.get(list_id)
    assert stored is not None and stored.name == "Mine (renamed)"

    # a list in use cannot be deleted and a free one can
    list_id = await new_list(bot, MANAGER, "Busy")
    async with bot.app.db.uow_factory() as uow:
        await uow.mailings.add(
            Mailing(
                owner_id=MANAGER,
                name="Black Friday",
                channel=Channel.telegram,
                status=MailingStatus.scheduled,
                list_ids=[list_id],
            )
        )
        await uow.commit()
    await bot.press(MANAGER, "🗑 Delete")
    answers = len(bot.api.callback_answers)
    bot.api.press(MANAGER, "🗑 Yes, delete")
    answer = await bot.api.wait_for_callback_answer(
        predicate=lambda a: bool(a.get("text")), since=answers
    )
    assert "scheduled or running mailings use it: «Black Friday»" in answer["text"]
    free_id = await new_list(bot, MANAGER, "Free")
    await bot.press(MANAGER, "🗑 Delete")
    confirm = bot.api.last_message(MANAGER)
    assert "Delete the list “Free”?" in confirm.text
    index = await bot.press(MANAGER, "🗑 Yes, delete")
    assert "Free" not in index.text and "Busy" in index.text
    async with bot.app.db.uow_factory() as uow:
        assert await uow.lists.get(free_id) is None
        assert await uow.lists.get(list_id) is not None


async def bot_subscribers_fill_a_list_and_an_admin_lifts_a_suppression(bot: BotHarness) -> None:
    for reader in (7001, 7002, 7003):
        await bot.say(reader, "/start")
    await bot.say(7002, "/stop")
    await new_list(bot, MANAGER, "Readers")
    done = await bot.press(MANAGER, "🤖 Bot subscribers")
    assert done.text == "Bot subscribers added: 2."
    await bot.say(7004, "/start")
    index = await bot.say(MANAGER, "/lists", language_code="en")
    await bot.press(MANAGER, "📋 Readers", message_id=index.message_id)
    again = await bot.press(MANAGER, "🔄 Re-import")
    assert again.text == "Bot subscribers added: 1."

    # an admin lifts a suppression
    await bot.say(7001, "/start")
    async with bot.app.db.uow_factory() as uow:  # refused (blocked the bot), not unsubscribed
        blocked = await uow.addresses.find(AddressKind.telegram, "7001")
        assert blocked is not None
        blocked.refused_at = datetime.now(UTC)
        await uow.addresses.update(blocked)
        await uow.commit()
    reply = await bot.say(ADMIN, "/unsuppress 7001", language_code="en")
    assert "Suppression lifted: 7001" in reply.text
    again = await bot.say(ADMIN, "/unsuppress 7001", language_code="en")
    assert "is not suppressed" in again.text
    unknown = await bot.say(ADMIN, "/unsuppress ghost@example.com", language_code="en")
    assert "was not found" in unknown.text
    refused = await bot.say(MANAGER, "/unsuppress 7001", language_code="en")
    assert refused.text == "This command is for administrators only."
    async with bot.app.db.uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.telegram, "7001")
        entries = await uow.audit.recent()
    assert address is not None and not address.is_suppressed
    assert entries[0].action == "suppression.lift" and entries[0].actor_id == ADMIN
