"""Media methods of the fake Bot API: each media kind, albums, copies of several messages.

From https://core.telegram.org/bots/api:

* ``sendVideo``, ``sendAnimation``, ``sendAudio``, ``sendVoice``, ``sendDocument``,
  ``sendPhoto`` take a ``caption`` (0-1024 characters after entities parsing);
  ``sendVideoNote`` and ``sendSticker`` have no ``caption`` parameter. Telegram ignores
  parameters a method does not have; the fake refuses a caption there instead, so a
  client that believes it sends one is caught (the stricter reading);
* ``sendMediaGroup``: "a JSON-serialized array describing messages to be sent, must
  include 2-10 items" of InputMediaAudio, InputMediaDocument, InputMediaPhoto and
  InputMediaVideo; "Documents and audio files can be only grouped in an album with
  messages of the same type"; no ``reply_markup``; answers the array of sent Messages;
* ``copyMessages``: "1-100 identifiers of messages in the chat from_chat_id to copy. The
  identifiers must be specified in a strictly increasing order"; messages that can't be
  found are skipped; "Album grouping is kept for copied messages"; answers an array of
  MessageId.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.bot_api_methods import BotMethods, Files, Params, int_param
from tests.fakes.bot_api_model import (
    MAX_CAPTION_LENGTH,
    ApiError,
    bad_request,
    loads_param,
    render_text,
)

ALBUM_TYPES = frozenset({"photo", "video", "audio", "document"})
_group_ids = itertools.count(13_000_000_000_000_000)


class MediaMethods(BotMethods):
    """The media methods (see the module docstring) on top of ``BotMethods``."""

    def _send_file(self, p: Params, f: Files, kind: str, *, caption: bool = True) -> Any:
        if not caption and ("caption" in p or "parse_mode" in p):
            raise bad_request(f"method send{_title(kind)} has no caption")
        stored = self._input_file(p, f, kind, kind)
        raw = p.get("caption") if caption else None
        msg = self._new_bot_message(
            p, kind=kind, raw=raw, file=stored, entities_param="caption_entities"
        )
        return self.message_object(msg)

    def m_sendvideo(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "video")

    def m_sendanimation(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "animation")

    def m_sendaudio(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "audio")

    def m_sendvoice(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "voice")

    def m_sendvideonote(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "video_note", caption=False)

    def m_sendsticker(self, p: Params, f: Files) -> Any:
        return self._send_file(p, f, "sticker", caption=False)

    def m_sendmediagroup(self, p: Params, f: Files) -> Any:
        if "reply_markup" in p:
            raise bad_request("method sendMediaGroup has no reply_markup")
        items = loads_param(p, "media", "media")
        if not isinstance(items, list) or not items:
            raise bad_request("media is empty")
        if not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media items: must include 2-10 items")
        types = [str(item.get("type")) if isinstance(item, dict) else "" for item in items]
        if any(kind not in ALBUM_TYPES for kind in types):
            raise bad_request("invalid media type in the album")
        for alone in ("document", "audio"):
            if alone in types and set(types) != {alone}:
                raise bad_request(f"{alone} can't be mixed with other media types")
        chat_id = int_param(p, "chat_id")
        ready = []  # every item checked before any is sent: an album goes whole or not
        for item, kind in zip(items, types, strict=True):
            caption, mode = item.get("caption"), item.get("parse_mode")
            visible, _ = render_text(None if caption is None else str(caption), mode, None)
            if len(visible) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
            stored = self._input_file({kind: str(item.get("media") or "")}, f, kind, kind)
            ready.append((item, kind, stored))
        group = str(next(_group_ids))
        sent = []
        for item, kind, stored in ready:
            params = {k: v for k, v in p.items() if k != "media"}
            params["chat_id"] = str(chat_id)
            if item.get("caption") is not None:
                params["caption"] = str(item["caption"])
            if item.get("parse_mode") is not None:
                params["parse_mode"] = str(item["parse_mode"])
            msg = self._new_bot_message(
                params, kind=kind, raw=params.get("caption"), file=stored, group=group
            )
            sent.append(self.message_object(msg))
        return sent

    def m_copymessages(self, p: Params, f: Files) -> Any:
        chat_id = int_param(p, "chat_id")
        source_chat = int_param(p, "from_chat_id")
        ids = loads_param(p, "message_ids", "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must include 1-100 identifiers")
        numbers = [int(i) for i in ids]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise bad_request("message identifiers must be in a strictly increasing order")
        keep_caption = p.get("remove_caption", "").lower() not in ("true", "1")
        groups: dict[str, str] = {}  # the source's album -> the copies' album
        answer = []
        for message_id in numbers:
            params = {k: v for k, v in p.items() if k not in ("message_ids", "remove_caption")}
            params |= {"chat_id": str(chat_id), "message_id": str(message_id)}
            try:
                obj = self._source(params, "message to copy not found")
            except ApiError:
                continue  # "If some of the specified messages can't be found ... skipped"
            if not keep_caption:
                params["caption"] = ""
            source_group = obj.get("media_group_id")
            group = None
            if source_group is not None:
                group = groups.setdefault(str(source_group), str(next(_group_ids)))
            msg = self._copy_into(params, obj, group=group)
            msg.source = (source_chat, message_id)
            answer.append({"message_id": msg.message_id})
        return answer


def _title(kind: str) -> str:
    return "".join(part.title() for part in kind.split("_"))
