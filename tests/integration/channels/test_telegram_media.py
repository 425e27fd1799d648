"""TelegramChannel's media kinds against the fake Bot API: each kind by its method, the
paid flag on broadcasts only, an album's message ids all kept, a recall deleting a whole
album, an edit changing an album's first caption, and what the fake (the Bot API
documentation) refuses."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendSticker
from aiogram.types import BufferedInputFile, InputMediaDocument, InputMediaPhoto

from domain.delivery import Outcome
from domain.follow_ups import PIN
from domain.mailings import Channel
from domain.media import message_ids
from domain.recipients import AddressKind
from domain.runs import RunKind
from infrastructure.channels.telegram import TelegramChannel
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.channels.support import by_id, content, messages, outcomes

pytestmark = pytest.mark.asyncio

TG = AddressKind.telegram
METHODS = {
    "video": "sendVideo",
    "animation": "sendAnimation",
    "audio": "sendAudio",
    "voice": "sendVoice",
    "video_note": "sendVideoNote",
    "sticker": "sendSticker",
}


def file_of(api: FakeBotAPI, kind: str) -> str:
    """A file of ``kind`` a user sent to the bot (so the bot may send it by its id)."""
    sent = api.send_media(999, kind, f"{kind} bytes".encode())
    field = sent[kind]
    return str(field[-1]["file_id"] if kind == "photo" else field["file_id"])


@pytest.mark.parametrize("kind", sorted(METHODS))
async def test_each_kind_goes_by_its_method_with_a_caption_where_allowed(
    api: FakeBotAPI, bot: Bot, kind: str
) -> None:
    file_id = file_of(api, kind)
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
    paid = content(Channel.telegram, paid=True, media={"type": kind, "file_id": file_id})
    free = dataclasses.replace(paid, paid=False)

    fast = await tg.send(paid, messages(TG, ["31", "32"], "<b>Look</b>"))
    slow = await tg.send(free, messages(TG, ["33"], "<b>Look</b>", first_id=3))

    assert set(outcomes(fast).values()) | set(outcomes(slow).values()) == {Outcome.delivered}
    calls = api.calls(METHODS[kind])
    assert [c.get("allow_paid_broadcast") for c in calls] == ["true", "true", None]
    sent = api.last_message(31)
    assert sent is not None and sent.kind == kind and sent.file_id == file_id
    if kind in ("sticker", "video_note"):
        assert sent.caption is None and all("caption" not in c for c in calls)
    else:
        assert sent.caption == "Look" and sent.entities == [
            {"type": "bold", "offset": 0, "length": 4}
        ]
    assert by_id(fast)[1].provider_id == str(sent.message_id)


async def test_an_album_keeps_every_message_id_and_a_recall_deletes_them_all(
    api: FakeBotAPI, bot: Bot
) -> None:
    items = [{"type": k, "file_id": file_of(api, k)} for k in ("photo", "video", "photo")]
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
    run = content(Channel.telegram, paid=True, media={"type": "album", "items": items})

    results = await tg.send(run, messages(TG, ["41", "42"], "<i>Trip</i>"))

    assert set(outcomes(results).values()) == {Outcome.delivered}
    (call, _) = api.calls("sendMediaGroup")
    assert call["allow_paid_broadcast"] == "true" and "reply_markup" not in call
    album = api.messages(41)
    assert [m.kind for m in album] == ["photo", "video", "photo"]
    assert [m.caption for m in album] == ["Trip", None, None]
    ids = message_ids(by_id(results)[1].provider_id)
    assert ids == tuple(m.message_id for m in album)

    edit = dataclasses.replace(run, kind=RunKind.edit, paid=False, body="<b>Our trip</b>")
    fix = [dataclasses.replace(m, target_ids=ids) for m in messages(TG, ["41"], "<b>Ours</b>")]
    assert outcomes(await tg.send(edit, fix)) == {1: Outcome.delivered}
    assert [m.caption for m in api.messages(41)] == ["Ours", None, None]

    recall = dataclasses.replace(run, kind=RunKind.recall, paid=False)
    gone = [dataclasses.replace(m, target_ids=ids) for m in messages(TG, ["41"], "")]
    assert outcomes(await tg.send(recall, gone)) == {1: Outcome.delivered}
    assert all(m.deleted for m in api.messages(41))
    assert not any(m.deleted for m in api.messages(42))
    (delete,) = api.calls("deleteMessages")
    assert json.loads(delete["message_ids"]) == list(ids)


async def test_the_fake_refuses_what_the_bot_api_rules_out(api: FakeBotAPI, bot: Bot) -> None:
    photo = file_of(api, "photo")
    document = file_of(api, "document")
    with pytest.raises(TelegramBadRequest, match="2-10 items"):
        await bot.send_media_group(51, [InputMediaPhoto(media=photo)])
    with pytest.raises(TelegramBadRequest, match="2-10 items"):
        await bot.send_media_group(51, [InputMediaPhoto(media=photo)] * 11)
    with pytest.raises(TelegramBadRequest, match="can't be mixed"):
        await bot.send_media_group(
            51, [InputMediaPhoto(media=photo), InputMediaDocument(media=document)]
        )
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_media_group(
            51, [InputMediaPhoto(media=photo, caption="x" * 1025), InputMediaPhoto(media=photo)]
        )
    sticker = file_of(api, "sticker")
    with pytest.raises(TelegramBadRequest, match="no caption"):
        await bot(_StickerWithCaption(chat_id=51, sticker=sticker, caption="Hi"))
    with pytest.raises(TelegramBadRequest, match="can't use file of type"):
        await bot.send_video(51, photo)
    assert api.messages(51) == []  # nothing half-sent
    upload = await bot.send_voice(51, BufferedInputFile(b"OggS voice", "v.ogg"), caption="Hi")
    assert upload.voice is not None and upload.caption == "Hi"


class _StickerWithCaption(SendSticker):
    """A client sending a caption sendSticker does not have (the fake refuses it)."""

    caption: str | None = None


async def test_an_exact_copy_of_a_post_gone_from_the_managers_chat_fails(
    api: FakeBotAPI, bot: Bot
) -> None:
    posts = api.send_album(999, ["photo", "photo"], caption="Trip")
    ids = [p["message_id"] for p in posts]
    media = {"type": "copy", "from_chat_id": 999, "message_ids": ids, "kind": "photo"}
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
    run = content(Channel.telegram, paid=True, media=media)

    sent = await tg.send(run, messages(TG, ["61"]))
    assert outcomes(sent) == {1: Outcome.delivered}
    assert "allow_paid_broadcast" not in api.calls("copyMessages")[0]  # it has no such flag
    assert message_ids(by_id(sent)[1].provider_id) == tuple(m.message_id for m in api.messages(61))

    api.deleted_user_messages.update((999, i) for i in ids)  # the manager deleted the post
    gone = await tg.send(run, messages(TG, ["62"]))
    assert outcomes(gone) == {1: Outcome.failed}
    assert "message to copy not found" in (by_id(gone)[1].error or "")
    assert api.messages(62) == []


async def test_a_pinned_album_pins_its_first_item_silently(api: FakeBotAPI, bot: Bot) -> None:
    items = [{"type": "photo", "file_id": file_of(api, "photo")} for _ in range(2)]
    tg = TelegramChannel(bot, rate=1000.0, per_chat_interval=0.0)
    run = content(Channel.telegram, media={"type": "album", "items": items}, options={PIN: True})

    results = await tg.send(run, messages(TG, ["71"], "Trip"))

    assert outcomes(results) == {1: Outcome.delivered}
    first, second = api.messages(71)
    assert first.pinned and first.pinned_silently and not second.pinned
