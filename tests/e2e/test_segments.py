"""Segments in the bot: conditions built with buttons, the live count after each, a wrong
value refused at its step, a list left out, a saved segment reused, and a launch that
reaches exactly the segment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.recipients import Address, AddressKind, RecipientList
from tests.e2e.conftest import BotHarness, grant

M = 2002
PEOPLE: dict[int, dict[str, Any]] = {
    7001: {"name": "Ann", "city": "Moscow", "age": "34", "tags": "vip"},
    7002: {"name": "Bob", "city": "moscow", "age": "17"},
    7003: {"name": "Cat", "city": "Kazan", "age": "40", "tags": "vip, new"},
    7004: {"name": "Dan", "city": "Moscow", "age": "52"},
    7005: {"name": "Eve", "city": "Moscow", "age": "29", "tags": "new"},
}


async def make_list(bot: BotHarness, name: str, chats: list[int], fields: list[str]) -> int:
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(name, M, fields=fields))
        assert rlist.id is not None
        for chat in chats:
            address = await uow.addresses.upsert(
                Address(AddressKind.telegram, str(chat), PEOPLE[chat])
            )
            assert address.id is not None
            await uow.members.add_members(rlist.id, [address.id])
        await uow.commit()
        return rlist.id


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await grant(bot, M)
    await make_list(bot, "Customers", list(PEOPLE), ["age", "city", "name", "tags"])
    await make_list(bot, "Staff", [7004], ["name"])
    await make_list(bot, "Partners", [7001], ["name", "region"])
    yield bot


async def to_lists_step(bot: BotHarness, name: str) -> None:
    await bot.say(M, "/new", language_code="en")
    await bot.say(M, name, language_code="en")
    await bot.press(M, "✈️ Telegram")
    await bot.say(M, "Hello {{ name }}", language_code="en")
    await bot.press(M, "Next ➡️")  # Telegram options
    lists_step = await bot.press(M, "Next ➡️")  # tracking
    assert "Who should get it?" in lists_step.text


TAG_BUTTON = "🏷 tags"


async def add_condition(bot: BotHarness, field: str, op: str, value: str | None) -> str:
    """``op`` "" for tags (they ask the value at once)."""
    await bot.press(M, "➕ Add a condition")
    asked = await bot.press(M, field)
    if op:
        asked = await bot.press(M, op)
    if value is None:
        return asked.text
    return (await bot.say(M, value, language_code="en")).text


async def test_segments_built_saved_sent_refused_and_left_out_and_tags_by_hand(
    staff: BotHarness,
) -> None:
    """One manager's bot walks both journeys (each started its own, with the same lists):
    the second one's saved segments screen lists the first one's two as well."""
    await a_segment_is_built_counted_saved_sent_and_refused_where_its_field_is_missing(staff)
    await earlier_recipients_left_out_tags_by_hand_and_saved_segments_under_lists(staff)


async def a_segment_is_built_counted_saved_sent_and_refused_where_its_field_is_missing(
    bot: BotHarness,
) -> None:
    await to_lists_step(bot, "Moscow adults")
    ticked = await bot.press(M, "▫️ Customers (5)")
    assert "Will receive: 5" in ticked.text
    screen = await bot.press(M, "🎯 Segment: everyone")
    assert "Will receive: <b>5</b>" in screen.raw_text and "everyone in the lists" in screen.text

    fields = await bot.press(M, "➕ Add a condition")
    assert fields.buttons[:4] == ["age", "city", "name", "🏷 tags"]
    await bot.press(M, "city")
    await bot.press(M, "= equals")
    counted = await bot.say(M, "MOSCOW", language_code="en")
    assert "1. city = MOSCOW" in counted.text and "Will receive: 4" in counted.text

    await bot.press(M, "➕ Add a condition")
    await bot.press(M, "age")
    asked = await bot.press(M, "> number")
    assert "Type a number" in asked.text
    refused = await bot.say(M, "abc", language_code="en")
    assert "“abc” is not a number" in refused.text
    counted = await bot.say(M, "18", language_code="en")
    assert "2. age > 18" in counted.text and "Will receive: 3" in counted.text

    await bot.press(M, "🚫 Except lists")
    left_out = await bot.press(M, "▫️ Staff")
    assert "🚫 Staff" in left_out.buttons
    screen = await bot.press(M, "⬅️ Back")
    assert "Except the members of: Staff" in screen.text and "Will receive: 2" in screen.text

    await bot.press(M, "💾 Save this segment")
    saved = await bot.say(M, "Adults in Moscow", language_code="en")
    assert "Saved as “Adults in Moscow”" in saved.text

    lists_step = await bot.press(M, "✅ Done")
    assert "🎯 Segment: conditions: 2" in lists_step.buttons
    assert "Will receive: 2" in lists_step.text
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    report = await bot.api.wait_for_message(M, since=mark, contains="Preview: Moscow adults")
    assert "Recipients: 2" in report.text
    bot.api.press(M, "🚀 Launch")
    summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)
    assert "delivered: 2" in summary.text
    received = {chat for chat in PEOPLE if bot.api.messages(chat)}
    assert received == {7001, 7005}

    # tags any of and an empty segment
    await to_lists_step(bot, "Tagged")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    await bot.press(M, "➕ Add a condition")
    asked = await bot.press(M, "🏷 tags")
    assert "Type one tag" in asked.text
    counted = await bot.say(M, "VIP", language_code="en")
    assert "tagged “vip”" in counted.text and "Will receive: 2" in counted.text
    counted = await add_condition(bot, "city", "= equals", "Kazan")
    assert "Will receive: 1" in counted
    any_of = await bot.press(M, "🔀 Make it: any may hold")
    assert "Any of these holds" in any_of.text and "Will receive: 2" in any_of.text
    empty = await add_condition(bot, "age", "< number", "0")
    assert "Will receive: 2" in empty  # any: the others still hold
    all_of = await bot.press(M, "🔀 Make it: all must hold")
    assert "Will receive: 0" in all_of.text and "this segment is empty" in all_of.text
    dropped = await bot.press(M, "❌ 3")
    assert "Will receive: 1" in dropped.text and "age" not in dropped.text

    # a saved segment on a list without its field is refused
    await to_lists_step(bot, "First")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    await add_condition(bot, "city", "= equals", "Kazan")
    await bot.press(M, "💾 Save this segment")
    await bot.say(M, "Kazan", language_code="en")
    await bot.press(M, "✅ Done")
    await bot.press(M, "Cancel")

    await to_lists_step(bot, "Second")
    await bot.press(M, "▫️ Partners (1)")
    await bot.press(M, "🎯 Segment: everyone")
    saved = await bot.press(M, "📂 Saved segments")
    assert "Use “Kazan”" in saved.buttons
    mark = len(bot.api.callback_answers)
    bot.api.press(M, "Use “Kazan”")
    answer = await bot.api.wait_for_callback_answer(
        since=mark, predicate=lambda a: bool(a.get("text"))
    )
    assert "No chosen list has the field “city”" in answer["text"]
    assert answer.get("show_alert")
    # A field the lists have is offered; "region" is Partners' own.
    fields = await bot.press(M, "⬅️ Back")
    assert "everyone in the lists" in fields.text
    offered = await bot.press(M, "➕ Add a condition")
    assert offered.buttons[:3] == ["name", "region", "🏷 tags"]


async def launch_from_lists_step(bot: BotHarness, name: str, delivered: int) -> None:
    await bot.press(M, "Next ➡️")
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    await bot.api.wait_for_message(M, since=mark, contains=f"Preview: {name}")
    mark = bot.api.mark(M)
    bot.api.press(M, "🚀 Launch")
    summary = await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=15)
    assert f"delivered: {delivered}" in summary.text


async def earlier_recipients_left_out_tags_by_hand_and_saved_segments_under_lists(
    bot: BotHarness,
) -> None:
    await to_lists_step(bot, "Kazan news")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    await add_condition(bot, TAG_BUTTON, "", "new")  # Cat and Eve
    await bot.press(M, "✅ Done")
    await launch_from_lists_step(bot, "Kazan news", delivered=2)

    await to_lists_step(bot, "Follow-up")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    offered = await bot.press(M, "🚫 Except recipients of a mailing")
    assert "▫️ 📬 got “Kazan news”" in offered.buttons
    assert "▫️ 👆 clicked “Kazan news”" in offered.buttons
    ticked = await bot.press(M, "▫️ 📬 got “Kazan news”")
    assert "🚫 📬 got “Kazan news”" in ticked.buttons
    screen = await bot.press(M, "⬅️ Back")
    assert "Except who got: Kazan news" in screen.text and "Will receive: 3" in screen.text
    await bot.press(M, "✅ Done")
    before = {chat: len(bot.api.messages(chat)) for chat in PEOPLE}
    await launch_from_lists_step(bot, "Follow-up", delivered=3)
    again = {chat for chat in PEOPLE if len(bot.api.messages(chat)) > before[chat]}
    assert again == {7001, 7002, 7004}

    # tags added by hand select members
    await bot.say(M, "/lists", language_code="en")
    await bot.press(M, "📋 Customers")
    asked = await bot.press(M, "🏷 Tag members")
    assert "Type the tag on the first line" in asked.text
    refused = await bot.say(M, "gold\n7002\nnot an address", language_code="en")
    assert "Line 3: “not an address” is neither an email nor a Telegram id" in refused.text
    card = await bot.say(M, "Gold\n7002\n7003\n999999", language_code="en")
    assert "Tag “gold” added to 2." in card.text and "Not in this list: 999999" in card.text
    await bot.press(M, "🏷 Tag members")
    card = await bot.say(M, "-new\n7005", language_code="en")
    assert "Tag “new” taken off 1." in card.text

    await to_lists_step(bot, "Gold")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    counted = await add_condition(bot, TAG_BUTTON, "", "gold")
    assert "Will receive: 2" in counted
    counted = await add_condition(bot, TAG_BUTTON, "", "new")  # Cat keeps hers (imported)
    assert "Will receive: 1" in counted
    async with bot.app.db.uow_factory() as uow:
        cat = await uow.addresses.find(AddressKind.telegram, "7003")
        eve = await uow.addresses.find(AddressKind.telegram, "7005")
    assert cat is not None and cat.attributes["tags"] == "vip, new, gold"
    assert eve is not None and eve.attributes["tags"] == ""

    # saved segments are listed and deleted under lists
    await to_lists_step(bot, "Source")
    await bot.press(M, "▫️ Customers (5)")
    await bot.press(M, "🎯 Segment: everyone")
    await add_condition(bot, "age", "> number", "30")
    await add_condition(bot, TAG_BUTTON, "", "vip")
    await bot.press(M, "💾 Save this segment")
    await bot.say(M, "Older VIPs", language_code="en")
    await bot.press(M, "✅ Done")
    await bot.press(M, "Cancel")

    index = await bot.say(M, "/lists", language_code="en")
    assert "🎯 Saved segments" in index.buttons
    saved = await bot.press(M, "🎯 Saved segments")
    # the first journey's two, and this one
    assert "Saved segments (3)" in saved.text and "Older VIPs" in saved.text
    assert "1. age > 30" in saved.text and "2. tagged “vip”" in saved.text
    gone = await bot.press(M, "🗑 Delete “Older VIPs”")
    assert "Deleted “Older VIPs”" in gone.text and "Saved segments (2)" in gone.text
    assert "Older VIPs" not in gone.text.replace("Deleted “Older VIPs”", "")
    await bot.press(M, "🗑 Delete “Adults in Moscow”")
    gone = await bot.press(M, "🗑 Delete “Kazan”")
    assert "Deleted “Kazan”" in gone.text and "No saved segments yet" in gone.text
    # The mailing that used it keeps its own copy.
    async with bot.app.db.uow_factory() as uow:
        found = await uow.mailings.search(
            owner_id=M, status=None, page=0, size=10, include_archived=True
        )
    [source] = [m for m in found.items if m.name == "Source"]
    assert len(source.targeting.segment.conditions) == 2
