"""An exact copy of a post: a manager forwards a channel post (custom emoji, a spoiler, a
quote) or an album, chooses "send exactly this" (told that placeholders are not filled),
and each recipient gets a copy of that very message (copyMessage / copyMessages from the
manager's chat) with its entities and media intact; the preview is such a copy too, and a
recall deletes the copies by the ids copyMessage answered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import BotHarness
from tests.e2e.test_mailings import M, make_list, make_staff, start_dialog, stored
from tests.e2e.test_media import preview_and_launch, recall, statistics
from tests.fakes.bot_api import SentMessage

READERS = [7901, 7902, 7903]
ALBUM_READERS = [7904, 7905]  # each of them gets exactly the album
POST = "🔥 Big news {{ name }}: the secret is out. Quoted."
ENTITIES: list[dict[str, Any]] = [
    {"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"},
    {"type": "spoiler", "offset": 27, "length": 6},
    {"type": "blockquote", "offset": 43, "length": 7},
]


@pytest.fixture
async def staff(bot: BotHarness) -> BotHarness:
    await make_staff(bot)
    return bot


async def to_options(bot: BotHarness, name: str, send: Any) -> SentMessage:
    await start_dialog(bot, name)
    await bot.press(M, "✈️ Telegram")
    mark = bot.api.mark(M)
    send()
    return await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")


async def toggle(bot: BotHarness, state: str) -> SentMessage:
    """Press "send exactly this" (now ``state``); the bot's word on it, once the button
    shows the other state."""
    told = await bot.press(M, f"📋 Send exactly this post: {state}")
    other = "on" if state == "off" else "off"
    await bot.api.wait_for_message(
        M, predicate=lambda m: f"📋 Send exactly this post: {other}" in m.buttons
    )
    return told


async def test_a_forwarded_post_and_a_forwarded_album_are_copied_exactly(
    staff: BotHarness,
) -> None:
    """One bot for both (each started its own); the album goes to readers of its own."""
    await a_forwarded_post_is_copied_exactly_to_every_recipient(staff)
    await a_forwarded_album_is_copied_whole_and_can_be_built_again(staff)


async def a_forwarded_post_is_copied_exactly_to_every_recipient(bot: BotHarness) -> None:
    list_id = await make_list(bot, "Copy readers", READERS)
    posted: dict[str, Any] = {}

    def forward() -> None:
        origin = bot.api.channel_origin()
        posted.update(
            bot.api.send_text(
                M, POST, entities=ENTITIES, forward_origin=origin, language_code="en"
            )
        )

    options = await to_options(bot, "Channel post", forward)
    assert "📋 Send exactly this post: off" in options.buttons
    told = await toggle(bot, "off")
    assert "exact copy of your post" in told.text and "Placeholders are not available" in told.text
    mailing = await stored(bot, "Channel post")
    assert mailing.media == {
        "type": "copy",
        "from_chat_id": M,
        "message_ids": [posted["message_id"]],
        "kind": "text",
    }

    report, (sample,) = await preview_and_launch(bot, "Channel post", list_id)
    assert "placeholders not filled" in report.text
    assert sample.source == (M, posted["message_id"]) and sample.text == POST

    assert bot.api.sent_count("copyMessage") == 1 + len(READERS)
    assert bot.api.sent_count("sendMessage", READERS[0]) == 0
    for chat in READERS:
        (copy,) = bot.api.messages(chat)
        assert copy.source == (M, posted["message_id"]) and not copy.forwarded
        assert copy.text == POST  # exactly: the placeholder is not filled
        assert copy.entities == ENTITIES  # custom emoji, spoiler and quote intact

    async with bot.app.db.uow_factory() as uow:
        assert mailing.id is not None
        run = await uow.runs.last_for_mailing(mailing.id)
    assert run is not None and run.totals.delivered == len(READERS)
    # The copies' ids were kept: the recall deletes them.
    await recall(bot, await statistics(bot, mailing.id, "Channel post"))
    assert all(m.deleted for chat in READERS for m in bot.api.messages(chat))


async def a_forwarded_album_is_copied_whole_and_can_be_built_again(bot: BotHarness) -> None:
    list_id = await make_list(bot, "Album copy readers", ALBUM_READERS)
    items: list[dict[str, Any]] = []

    def forward() -> None:
        origin = bot.api.channel_origin()
        items.extend(
            bot.api.send_album(
                M, ["photo", "video"], caption="Trip {{ name }}", forward_origin=origin
            )
        )

    await to_options(bot, "Album post", forward)
    await toggle(bot, "off")
    back = await toggle(bot, "on")
    assert "built from your post again" in back.text
    assert (await stored(bot, "Album post")).media["type"] == "album"  # type: ignore[index]
    await toggle(bot, "off")
    mailing = await stored(bot, "Album post")
    ids = [item["message_id"] for item in items]
    assert mailing.media is not None and mailing.media["message_ids"] == ids

    report, sample = await preview_and_launch(bot, "Album post", list_id)
    assert "placeholders not filled" in report.text
    assert [m.kind for m in sample] == ["photo", "video"]
    assert bot.api.sent_count("copyMessages") == 1 + 2
    for chat in ALBUM_READERS:
        album = bot.api.messages(chat)
        assert [m.kind for m in album] == ["photo", "video"]
        assert album[0].caption == "Trip {{ name }}" and album[0].media_group_id is not None
        assert len({m.media_group_id for m in album}) == 1

    # Fix the text: the copies' caption (the album's first item) is replaced.
    assert mailing.id is not None
    figures = await statistics(bot, mailing.id, "Album post")
    mark = bot.api.mark(M)
    bot.api.press(M, "✏️ Fix the text", message_id=figures.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Fix the text of run")
    mark = bot.api.mark(M)
    bot.api.send_text(M, "Our trip, {{ name }}")
    confirm = await bot.api.wait_for_message(M, since=mark, contains="Replace the text")
    mark = bot.api.mark(M)
    bot.api.press(M, "✅ Replace", message_id=confirm.message_id)
    summary = await bot.api.wait_for_message(M, since=mark, contains="fixed</b>", timeout=30)
    assert "✅ fixed: 2" in summary.text
    for chat in ALBUM_READERS:
        first, second = bot.api.messages(chat)
        assert first.caption == f"Our trip, R{chat}" and first.edits == 1
        assert second.caption is None and second.edits == 0
