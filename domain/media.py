"""What a Telegram mailing may carry besides text: one media message, an album, or an
exact copy of a post the manager sent or forwarded to the bot.

A mailing's ``media`` is a JSON document, one of::

    {"type": "photo" | "video" | "animation" | "audio" | "voice" | "video_note"
             | "sticker" | "document", "file_id": "...", "filename": "..."?}
    {"type": "album", "items": [{"type": "photo" | "video" | "audio" | "document",
                                 "file_id": "..."}, ...]}
    {"type": "copy", "from_chat_id": 42, "message_ids": [7, 8, 9], "kind": "photo"}

Rules, from the Bot API (https://core.telegram.org/bots/api#sendmediagroup and each
``send…`` method):

* a caption goes with every kind but a sticker and a video note (their methods have no
  ``caption``), at most 1024 characters once placeholders are filled;
* an album (``sendMediaGroup``) holds 2–10 photos, videos, audio files or documents:
  "Documents and audio files can be only grouped in an album with messages of the same
  type" — photos and videos may mix; animations, voice messages, video notes and
  stickers never go in an album. Its caption is the first item's; an album carries no
  buttons (``sendMediaGroup`` has no ``reply_markup``);
* files are sent again by their ``file_id``: Telegram keeps them, so the bot never
  downloads them and the 20 MB download limit of ``getFile`` does not concern media
  ("There are no limits for files sent this way");
* an exact copy (``copyMessage``, ``copyMessages`` for an album) repeats the post as it
  is: custom emoji, spoilers, quotes and media intact, and no placeholder filled.

A delivered album keeps every message id (``provider_ids``): a recall deletes them all;
an edit changes the first one's caption.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from domain.answers import ANSWERS
from domain.errors import InvalidInput


class MediaKind(enum.StrEnum):
    photo = "photo"
    video = "video"
    animation = "animation"
    audio = "audio"
    voice = "voice"
    video_note = "video_note"
    sticker = "sticker"
    document = "document"
    album = "album"
    copy = "copy"  # an exact copy of the manager's post


SINGLE = frozenset(
    {
        MediaKind.photo,
        MediaKind.video,
        MediaKind.animation,
        MediaKind.audio,
        MediaKind.voice,
        MediaKind.video_note,
        MediaKind.sticker,
        MediaKind.document,
    }
)
CAPTIONLESS = frozenset({MediaKind.sticker, MediaKind.video_note})
ALBUM_KINDS = frozenset({MediaKind.photo, MediaKind.video, MediaKind.audio, MediaKind.document})
ALBUM_MIN, ALBUM_MAX = 2, 10
# Kinds an album may mix: photos with videos; documents and audio only with their own kind.
_ALBUM_FAMILY = {
    MediaKind.photo: "visual",
    MediaKind.video: "visual",
    MediaKind.audio: "audio",
    MediaKind.document: "document",
}


def kind_of(media: Mapping[str, Any] | None) -> MediaKind | None:
    """The kind of a mailing's media; ``None`` for a text message or an unknown kind."""
    if not media:
        return None
    try:
        return MediaKind(str(media.get("type")))
    except ValueError:
        return None


def takes_caption(media: Mapping[str, Any] | None) -> bool:
    """Whether the text goes as a caption (any media but a copy: an unknown kind too, the
    stricter limit) rather than a message."""
    return bool(media) and not is_copy(media)


def caption_refused(media: Mapping[str, Any] | None) -> bool:
    """A sticker or a video note: Telegram sends them without any text."""
    return kind_of(media) in CAPTIONLESS


def is_copy(media: Mapping[str, Any] | None) -> bool:
    return kind_of(media) is MediaKind.copy


def is_album(media: Mapping[str, Any] | None) -> bool:
    if kind_of(media) is MediaKind.album:
        return True
    # An exact copy of an album goes as several messages (copyMessages).
    return is_copy(media) and len(list((media or {}).get("message_ids") or ())) > 1


def check_album(kinds: Sequence[str]) -> None:
    """Raise unless ``kinds`` (the items' kinds, in order) make an album Telegram sends."""
    if len(kinds) > ALBUM_MAX:
        raise InvalidInput("media-album-too-big", count=len(kinds), limit=ALBUM_MAX)
    if len(kinds) < ALBUM_MIN:
        raise InvalidInput("media-album-too-small", limit=ALBUM_MIN)
    families = set()
    for kind in kinds:
        family = _ALBUM_FAMILY.get(MediaKind(kind)) if kind in set(MediaKind) else None
        if family is None:
            raise InvalidInput("media-album-kind-refused")
        families.add(family)
    if len(families) > 1:
        raise InvalidInput("media-album-mixed")


def album(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An album's media document from its items (checked)."""
    listed = [{"type": str(i["type"]), "file_id": str(i["file_id"])} for i in items]
    check_album([i["type"] for i in listed])
    return {"type": MediaKind.album.value, "items": listed}


def copy_of(from_chat_id: int, message_ids: Sequence[int], kind: str | None) -> dict[str, Any]:
    """An exact copy's media document: the manager's message(s) to copy, in order."""
    ids = sorted(int(i) for i in message_ids)
    if len(ids) > ALBUM_MAX:
        raise InvalidInput("media-album-too-big", count=len(ids), limit=ALBUM_MAX)
    return {
        "type": MediaKind.copy.value,
        "from_chat_id": int(from_chat_id),
        "message_ids": ids,
        "kind": kind or "text",
    }


def provider_id(message_ids: Sequence[int]) -> str:
    """How a delivery keeps its sent message ids: ``"101"``, or ``"101,102,103"``."""
    return ",".join(str(i) for i in message_ids)


def message_ids(provider: str | None) -> tuple[int, ...]:
    """The message ids a delivery kept (``provider_id``); empty if none or unreadable."""
    if not provider:
        return ()
    parts = str(provider).split(",")
    if not all(p.strip().isdigit() for p in parts):
        return ()
    return tuple(int(p) for p in parts)


def delivered_caption(media: Mapping[str, Any] | None) -> bool:
    """Whether a delivered copy's text is a caption (``editMessageCaption``) rather than
    a message text (``editMessageText``): any media, and a copy of a media post."""
    if is_copy(media):
        return str((media or {}).get("kind") or "text") != "text"
    return takes_caption(media)


def text_editable(media: Mapping[str, Any] | None) -> bool:
    """Whether a delivered copy has a text to fix: not a sticker nor a video note (nor a
    copy of one)."""
    if is_copy(media):
        return str((media or {}).get("kind")) not in CAPTIONLESS
    return not caption_refused(media)


POST = "post"  # the mailing option: the manager's message(s) the content came from
EXACT_COPY = "exact_copy"  # the dialog's toggle between the post's copy and its content


def remember_post(
    options: Mapping[str, Any],
    chat_id: int,
    ids: Sequence[int],
    media: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``options`` knowing the manager's post the content came from (its chat, its
    message ids, what it holds), so "send exactly this" can copy it later."""
    kind = str(media["type"]) if media else "text"
    if media and is_album(media):  # an album's items all go the same way: the first says
        kind = str(next(iter(media.get("items") or [{}])).get("type") or "photo")
    post = {
        "chat_id": int(chat_id),
        "message_ids": sorted(int(i) for i in ids),
        "kind": kind,
        "media": dict(media) if media else None,
    }
    return {**options, POST: post}


def toggle_exact_copy(
    media: Mapping[str, Any] | None, options: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The media after "send exactly this" is pressed: an exact copy of the remembered
    post, or (pressed again) the post's own media back. Raises when no post is known."""
    post = options.get(POST)
    if not isinstance(post, Mapping) or not post.get("message_ids"):
        raise InvalidInput("media-copy-no-post")
    if is_copy(media):
        kept = post.get("media")
        return dict(kept) if kept else None
    return copy_of(int(post["chat_id"]), list(post["message_ids"]), str(post.get("kind")))


def check_album_buttons(media: Mapping[str, Any] | None, options: Mapping[str, Any]) -> None:
    """An album goes without buttons (``sendMediaGroup`` and ``copyMessages`` take no
    ``reply_markup``): refused when a mailing would have both."""
    if is_album(media) and (options.get("buttons") or options.get(ANSWERS)):
        raise InvalidInput("media-album-buttons-refused")
