"""Every media kind through the bot: the content step takes it (an album as one answer),
the preview sends the manager the same kind, the launch delivers it to each recipient
through the fake Bot API (which refuses what the Bot API documentation rules out), and a
recall deletes every message of a delivered album. What Telegram would refuse (an album
of 11 items, mixed kinds, a caption too long) is refused at the step, nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from domain.media import message_ids
from domain.usecases import mailings
from tests.e2e.conftest import BotHarness, running_bot
from tests.e2e.test_mailings import M, make_list, make_staff, start_dialog, stored
from tests.fakes.bot_api import FakeBotAPI, SentMessage

READERS = [7801, 7802]
ALBUM_READERS = [7803, 7804]  # each of them gets exactly the album
CAPTIONED = ["photo", "video", "animation", "audio", "voice", "document"]
CAPTIONLESS = ["video_note", "sticker"]


@pytest.fixture
async def staff(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    """The bot answers an album once no item came for 0.3 s instead of 1 s: the fake
    Bot API hands the items over in one batch, and the refusals send nine albums."""
    async with running_bot(fake_api, migrated_pg_url, services={"album_quiet": 0.3}) as bot:
        await make_staff(bot)
        yield bot


async def content_step(bot: BotHarness, name: str) -> None:
    await start_dialog(bot, name)
    content = await bot.press(M, "✈️ Telegram")
    assert "Send the message" in content.text


async def card(bot: BotHarness, mailing_id: int, name: str) -> SentMessage:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains=name)


async def statistics(bot: BotHarness, mailing_id: int, name: str) -> SentMessage:
    """The statistics of the mailing's last run, from its card."""
    shown = await card(bot, mailing_id, name)
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=shown.message_id)
    return await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)


async def recall(bot: BotHarness, figures: SentMessage) -> None:
    """Delete the run's copies from recipients' chats, confirmed, to the recall's end."""
    confirm = await bot.press(M, "🗑 Delete from recipients' chats", message_id=figures.message_id)
    mark = bot.api.mark(M)
    bot.api.press(M, "🗑 Yes, delete them", message_id=confirm.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="deleted from chats", timeout=30)


async def preview_and_launch(
    bot: BotHarness, name: str, list_id: int
) -> tuple[SentMessage, list[SentMessage]]:
    """The mailing's preview — its report, and the sample sent before it (what the
    manager's chat got) — then its launch, to its end."""
    mailing = await stored(bot, name)
    assert mailing.id is not None
    await mailings.update(bot.app.db.uow_factory, M, mailing.id, list_ids=[list_id])
    shown = await card(bot, mailing.id, name)
    mark = bot.api.mark(M)
    bot.api.press(M, "👁 Preview", message_id=shown.message_id)
    report = await bot.api.wait_for_message(M, since=mark, contains=f"Preview: {name}", timeout=15)
    sample = [m for m in bot.api.messages(M) if mark < m.seq and m.message_id < report.message_id]
    bot.api.press(M, "🚀 Launch", message_id=report.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=30)
    return report, sample


async def test_each_kind_and_an_album_go_out_and_what_telegram_would_refuse_is_refused(
    staff: BotHarness,
) -> None:
    """One bot walks the media cases (each started its own, with the same settings):
    every kind, then an album (to readers of its own), then the refusals."""
    await each_media_kind_is_taken_previewed_and_delivered(staff)
    await an_album_is_one_answer_previewed_delivered_and_recalled_whole(staff)
    await what_telegram_would_refuse_is_refused_at_the_step(staff)


async def each_media_kind_is_taken_previewed_and_delivered(bot: BotHarness) -> None:
    list_id = await make_list(bot, "Media readers", READERS)
    for kind in CAPTIONED + CAPTIONLESS:
        name = f"Kind {kind}"
        await content_step(bot, name)
        mark = bot.api.mark(M)
        caption = "Hi {{ name }}, see this" if kind in CAPTIONED else None
        bot.api.send_media(M, kind, f"{kind} bytes".encode(), caption=caption)
        await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
        mailing = await stored(bot, name)
        assert mailing.media is not None and mailing.media["type"] == kind
        assert mailing.body == (caption or "")

        _, (sample,) = await preview_and_launch(bot, name, list_id)
        assert sample.kind == kind
        for chat in READERS:
            got = bot.api.messages(chat)[-1]
            assert got.kind == kind and got.file_id == mailing.media["file_id"]
            assert got.caption == (f"Hi R{chat}, see this" if caption else None)
        if kind in CAPTIONED:
            assert sample.caption == f"Hi R{READERS[0]}, see this"
    for method in ("sendVideo", "sendAnimation", "sendAudio", "sendVoice", "sendVideoNote"):
        assert bot.api.sent_count(method) == 1 + len(READERS)  # the preview, the copies
    assert bot.api.sent_count("sendSticker") == 1 + len(READERS)


async def an_album_is_one_answer_previewed_delivered_and_recalled_whole(bot: BotHarness) -> None:
    list_id = await make_list(bot, "Album readers", ALBUM_READERS)
    await content_step(bot, "Trip")
    mark = bot.api.mark(M)
    bot.api.send_album(M, ["photo", "video", "photo"], caption="Our trip, {{ name }}")
    options = await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    later = [m for m in bot.api.messages(M) if m.seq > mark]
    assert later == [options]  # one answer for the three messages of the album
    mailing = await stored(bot, "Trip")
    assert mailing.media is not None and mailing.media["type"] == "album"
    assert [i["type"] for i in mailing.media["items"]] == ["photo", "video", "photo"]
    assert mailing.body == "Our trip, {{ name }}"

    _, sample = await preview_and_launch(bot, "Trip", list_id)
    assert [m.kind for m in sample] == ["photo", "video", "photo"]
    assert len({m.media_group_id for m in sample}) == 1
    for chat in ALBUM_READERS:
        album = bot.api.messages(chat)
        assert [m.kind for m in album] == ["photo", "video", "photo"]
        assert album[0].caption == f"Our trip, R{chat}" and album[1].caption is None
        assert album[0].media_group_id is not None
    assert bot.api.sent_count("sendMediaGroup") == 1 + len(ALBUM_READERS)

    async with bot.app.db.engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT d.provider_message_id FROM deliveries AS d"
                    " JOIN mailing_runs AS r ON r.id = d.run_id"
                    " WHERE r.mailing_id = :m ORDER BY d.id"
                ),
                {"m": mailing.id},
            )
        ).scalars()
        ids = [message_ids(k) for k in kept]
    assert ids == [tuple(m.message_id for m in bot.api.messages(c)) for c in ALBUM_READERS]

    # The recall deletes every message of each album, in one deleteMessages per chat.
    assert mailing.id is not None
    await recall(bot, await statistics(bot, mailing.id, "Trip"))
    for chat in ALBUM_READERS:
        assert all(m.deleted for m in bot.api.messages(chat))
    assert bot.api.request_count("deleteMessages") == len(ALBUM_READERS)


REFUSED_ALBUMS = [
    (["photo"] * 11, "The album has 11 items; Telegram sends at most 10"),
    (["photo", "document"], "Telegram does not mix these in one album"),
    (["audio", "video"], "Telegram does not mix these in one album"),
]


async def what_telegram_would_refuse_is_refused_at_the_step(bot: BotHarness) -> None:
    """Each case has a mailing of its own. The rules: tests/unit/test_media_rules.py,
    test_content_step_rules.py."""
    for n, (kinds, says) in enumerate(REFUSED_ALBUMS):
        name = f"Too much {n}"
        await content_step(bot, name)
        mark = bot.api.mark(M)
        bot.api.send_album(M, kinds, caption="Look")
        refused = await bot.api.wait_for_message(M, since=mark, contains="⛔️", timeout=15)
        assert says in refused.text and "Nothing was saved" in refused.text, kinds
        assert [m for m in bot.api.messages(M) if m.seq > mark] == [refused]  # one answer
        mailing = await stored(bot, name)
        assert mailing.media is None and mailing.body == ""
        # The step is still open: a fixed album is taken.
        mark = bot.api.mark(M)
        bot.api.send_album(M, ["photo", "photo"], caption="Look")
        await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
        assert (await stored(bot, name)).media is not None

    # a caption too long is refused at the step
    await content_step(bot, "Wordy")
    mark = bot.api.mark(M)
    bot.api.send_media(M, "video", caption="x" * 1025, language_code="en")
    refused = await bot.api.wait_for_message(M, since=mark, contains="⛔️", timeout=15)
    assert "1025 of 1024" in refused.text and "Nothing was saved" in refused.text
    mailing = await stored(bot, "Wordy")
    assert mailing.media is None and mailing.body == ""

    # an album and buttons are refused together at either step
    await content_step(bot, "Buttoned")
    mailing = await stored(bot, "Buttoned")
    assert mailing.id is not None
    buttons = [[{"text": "Site", "url": "https://example.com"}]]
    await mailings.update(bot.app.db.uow_factory, M, mailing.id, options={"buttons": buttons})
    mark = bot.api.mark(M)
    bot.api.send_album(M, ["photo", "photo"], caption="Look")
    refused = await bot.api.wait_for_message(M, since=mark, contains="⛔️", timeout=15)
    assert "An album cannot carry buttons" in refused.text and "Nothing was saved" in refused.text
    assert (await stored(bot, "Buttoned")).media is None

    # Without the buttons the album is taken; buttons added to it then are refused.
    await mailings.update(bot.app.db.uow_factory, M, mailing.id, options={})
    mark = bot.api.mark(M)
    bot.api.send_album(M, ["photo", "photo"], caption="Look")
    await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    await bot.press(M, "🔗 URL buttons (0)")
    refused = await bot.say(M, "Shop - https://shop.example.com")
    assert "An album cannot carry buttons" in refused.text
    kept = await stored(bot, "Buttoned")
    assert kept.media is not None and kept.media["type"] == "album"
    assert not kept.options.get("buttons")

    # an album with several captions keeps the first and says so
    await content_step(bot, "Captions")
    mark = bot.api.mark(M)
    for n, caption in enumerate(["First", None, "Third"]):
        bot.api.send_media(M, "photo", f"p{n}".encode(), caption=caption, media_group_id="g1")
    told = await bot.api.wait_for_message(M, since=mark, contains="ℹ️", timeout=15)
    assert "one caption, the first one: 1 caption of the other items is left out" in told.text
    await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    mailing = await stored(bot, "Captions")
    assert mailing.body == "First" and mailing.media is not None
    assert len(mailing.media["items"]) == 3
