"""Media rules (domain/media.py), from the Bot API documentation: albums of 2–10 items,
photos and videos may mix, documents and audio only with their own kind; no caption on
stickers and video notes; an album's message ids kept together."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.media import (
    POST,
    album,
    caption_refused,
    check_album,
    check_album_buttons,
    copy_of,
    delivered_caption,
    is_album,
    message_ids,
    provider_id,
    remember_post,
    takes_caption,
    text_editable,
    toggle_exact_copy,
)


@pytest.mark.parametrize(
    "kinds",
    [
        ["photo", "photo"],
        ["photo", "video", "photo"],
        ["document"] * 10,
        ["audio", "audio"],
    ],
)
def test_albums_telegram_sends(kinds: list[str]) -> None:
    check_album(kinds)


@pytest.mark.parametrize(
    ("kinds", "key"),
    [
        (["photo"] * 11, "media-album-too-big"),
        (["photo"], "media-album-too-small"),
        (["photo", "document"], "media-album-mixed"),
        (["audio", "video"], "media-album-mixed"),
        (["document", "audio"], "media-album-mixed"),
        (["photo", "animation"], "media-album-kind-refused"),
        (["sticker", "sticker"], "media-album-kind-refused"),
        (["voice", "voice"], "media-album-kind-refused"),
    ],
)
def test_albums_telegram_refuses(kinds: list[str], key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_album(kinds)
    assert refused.value.key == key


def test_an_album_keeps_its_items_in_order() -> None:
    made = album([{"type": "video", "file_id": "v"}, {"type": "photo", "file_id": "p"}])
    assert made == {
        "type": "album",
        "items": [{"type": "video", "file_id": "v"}, {"type": "photo", "file_id": "p"}],
    }
    assert is_album(made) and takes_caption(made) and delivered_caption(made)


def test_captions_where_telegram_takes_them() -> None:
    for kind in ("photo", "video", "animation", "audio", "voice", "document"):
        media = {"type": kind, "file_id": "f"}
        assert takes_caption(media) and not caption_refused(media) and text_editable(media)
    for kind in ("sticker", "video_note"):
        media = {"type": kind, "file_id": "f"}
        assert caption_refused(media) and not text_editable(media)
    assert not takes_caption(None) and not delivered_caption(None) and text_editable(None)


def test_an_exact_copy_is_sent_as_it_is() -> None:
    text_post = copy_of(42, [7], None)
    assert not takes_caption(text_post) and not delivered_caption(text_post)
    photo_album = copy_of(42, [9, 8], "photo")
    assert photo_album["message_ids"] == [8, 9] and is_album(photo_album)
    assert delivered_caption(photo_album) and not is_album(text_post)
    assert not text_editable(copy_of(42, [3], "sticker"))
    with pytest.raises(InvalidInput):
        copy_of(42, list(range(11)), "photo")


def test_message_ids_are_kept_and_read_back() -> None:
    assert provider_id([101]) == "101" and provider_id([5, 6, 7]) == "5,6,7"
    assert message_ids("5,6,7") == (5, 6, 7) and message_ids("101") == (101,)
    assert message_ids(None) == () and message_ids("<abc@mail>") == ()


def test_send_exactly_this_switches_between_the_copy_and_the_post_built_again() -> None:
    video = {"type": "video", "file_id": "v"}
    options = remember_post({"silent": True}, 42, [9], video)
    assert options["silent"] is True and options[POST]["kind"] == "video"
    exact = toggle_exact_copy(video, options)
    assert exact == {"type": "copy", "from_chat_id": 42, "message_ids": [9], "kind": "video"}
    assert toggle_exact_copy(exact, options) == video  # pressed again: built again
    text = remember_post({}, 42, [5], None)
    assert toggle_exact_copy(None, text) == copy_of(42, [5], "text")
    assert toggle_exact_copy(copy_of(42, [5], "text"), text) is None
    pictures = album([{"type": "photo", "file_id": "a"}, {"type": "video", "file_id": "b"}])
    assert remember_post({}, 42, [8, 7], pictures)[POST]["message_ids"] == [7, 8]
    with pytest.raises(InvalidInput) as refused:
        toggle_exact_copy(None, {})
    assert refused.value.key == "media-copy-no-post"


def test_an_album_never_carries_buttons() -> None:
    pictures = album([{"type": "photo", "file_id": "a"}, {"type": "photo", "file_id": "b"}])
    check_album_buttons(pictures, {"buttons": [], "answers": []})
    check_album_buttons({"type": "photo", "file_id": "a"}, {"answers": ["Yes", "No"]})
    check_album_buttons(copy_of(1, [2], "photo"), {"buttons": [[{"text": "a", "url": "u"}]]})
    for options in ({"buttons": [[{"text": "a", "url": "u"}]]}, {"answers": ["Yes", "No"]}):
        for media in (pictures, copy_of(1, [2, 3], "photo")):
            with pytest.raises(InvalidInput) as refused:
                check_album_buttons(media, options)
            assert refused.value.key == "media-album-buttons-refused"
