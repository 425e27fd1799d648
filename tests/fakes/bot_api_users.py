"""Simulated users of the fake Bot API: they queue updates the bot reads with getUpdates."""

from __future__ import annotations

from typing import Any, Unpack

from tests.fakes.bot_api_limits import LimitedState
from tests.fakes.bot_api_model import (
    SentMessage,
    UserInfo,
    document_object,
    file_object,
    member_object,
    photo_sizes,
    user_object,
    utf16_len,
)
from tests.fakes.bot_api_state import now_ts


class UserActions(LimitedState):
    """Methods that make simulated users talk to the bot (private chats: chat.id == user id).

    Profile keywords (``first_name``, ``last_name``, ``username``, ``language_code``) given
    to any method are remembered per user; omitted ones keep their previous value
    (first_name defaults to "User", language_code to "en").
    """

    def user(self, user_id: int, **info: Unpack[UserInfo]) -> dict[str, Any]:
        """Register/update a user's profile and return its Telegram ``User`` object."""
        profile = self.users.setdefault(user_id, {"first_name": "User", "language_code": "en"})
        profile.update(info)
        return user_object(user_id, profile)

    def _user_message(
        self, user_id: int, info: UserInfo, content: dict[str, Any]
    ) -> dict[str, Any]:
        sender = self.user(user_id, **info)
        message = {
            "message_id": self._new_message_id(user_id),
            "from": sender,
            "chat": self.chat(user_id),
            "date": now_ts(),
            **content,
        }
        self._user_messages[(user_id, message["message_id"])] = message
        self._queue_update("message", message)
        return message

    def user_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message a simulated user sent (as queued)."""
        return self._user_messages.get((chat_id, message_id))

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        forward_origin: dict[str, Any] | None = None,
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        """Queue a text message; a leading ``/command`` gets a ``bot_command`` entity;
        with ``forward_origin`` it is forwarded (e.g. ``channel_origin`` of a post)."""
        content: dict[str, Any] = {"text": text}
        if forward_origin is not None:
            content["forward_origin"] = forward_origin
        if entities is None and text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        if entities:
            content["entities"] = entities
        return self._user_message(user_id, user, content)

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        """Queue a document; the bot can getFile + download ``content``."""
        stored = self._store_file(content, kind="document", filename=filename, mime_type=mime_type)
        body: dict[str, Any] = {"document": document_object(stored)}
        if caption is not None:
            body["caption"] = caption
        return self._user_message(user_id, user, body)

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        stored = self._store_file(content, kind="photo", filename=None, mime_type="image/jpeg")
        body: dict[str, Any] = {"photo": photo_sizes(stored)}
        if caption is not None:
            body["caption"] = caption
        if caption_entities:
            body["caption_entities"] = caption_entities
        return self._user_message(user_id, user, body)

    def send_media(
        self,
        user_id: int,
        kind: str,
        content: bytes = b"media",
        *,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        media_group_id: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        forward_origin: dict[str, Any] | None = None,
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        """Queue a message carrying a file of ``kind`` (one of ``FILE_KINDS``), maybe an
        item of an album (``media_group_id``) or forwarded (``forward_origin``)."""
        if kind in ("sticker", "video_note") and caption is not None:
            raise AssertionError(f"a {kind} message has no caption")
        stored = self._store_file(content, kind=kind, filename=filename, mime_type=mime_type)
        body: dict[str, Any] = {kind: file_object(kind, stored)}
        if kind == "animation":
            body["document"] = document_object(stored)
        if caption is not None:
            body["caption"] = caption
        if caption_entities:
            body["caption_entities"] = caption_entities
        if media_group_id is not None:
            body["media_group_id"] = media_group_id
        if forward_origin is not None:
            body["forward_origin"] = forward_origin
        return self._user_message(user_id, user, body)

    def send_album(
        self,
        user_id: int,
        kinds: list[str],
        *,
        caption: str | None = None,
        forward_origin: dict[str, Any] | None = None,
        **user: Unpack[UserInfo],
    ) -> list[dict[str, Any]]:
        """Queue an album: one message per item sharing a ``media_group_id``, the caption
        on the first (as Telegram's apps send it)."""
        group = f"album{next(self._update_ids)}"
        return [
            self.send_media(
                user_id,
                kind,
                f"{kind} {n}".encode(),
                caption=caption if n == 0 else None,
                media_group_id=group,
                forward_origin=forward_origin,
                **user,
            )
            for n, kind in enumerate(kinds)
        ]

    def channel_origin(
        self, chat_id: int = -1001234567890, message_id: int = 77
    ) -> dict[str, Any]:
        """``forward_origin`` of a post forwarded from a channel (MessageOriginChannel)."""
        chat = {"id": chat_id, "type": "channel", "title": "MailForge news"}
        return {"type": "channel", "chat": chat, "message_id": message_id, "date": now_ts()}

    def forward_from(
        self,
        user_id: int,
        original_user_id: int,
        text: str,
        *,
        original_first_name: str = "Orig",
        original_username: str | None = None,
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        """Queue a text forwarded from another user (``forward_origin`` + legacy fields)."""
        original = user_object(
            original_user_id,
            {"first_name": original_first_name, "username": original_username},
        )
        date = now_ts() - 3600
        body = {
            "text": text,
            "forward_origin": {"type": "user", "sender_user": original, "date": date},
            "forward_from": original,
            "forward_date": date,
        }
        return self._user_message(user_id, user, body)

    def press(
        self, user_id: int, button_text: str, *, message_id: int | None = None
    ) -> dict[str, Any]:
        """Press an inline button (exact text, else substring) of the newest bot message
        having one (or of ``message_id``) and queue the callback_query.

        If no inline button matches but the newest reply keyboard has that button, the
        user sends its text as a message instead (that is what pressing it does).
        """
        if message_id is not None:
            msg = self.message(user_id, message_id)
            if msg is None or msg.deleted:
                raise AssertionError(f"no live bot message {message_id} in chat {user_id}")
            candidates = [msg]
        else:
            candidates = [m for m in reversed(self._messages.get(user_id, [])) if not m.deleted]
        for msg in candidates:
            button = _find_button(msg, button_text)
            if button is not None:
                data = button.get("callback_data")
                if data is None:
                    raise AssertionError(f"button {button!r} has no callback_data")
                return self._callback(user_id, str(data), msg.message_id)
        for msg in candidates:
            if msg.reply_markup and "keyboard" in msg.reply_markup:
                if button_text in msg.buttons:
                    return self.send_text(user_id, button_text)
                break
        available = "\n".join(f"  #{m.message_id}: {m.button_rows}" for m in candidates[:5])
        raise AssertionError(
            f"no button {button_text!r} in chat {user_id}; buttons:\n{available or '  (none)'}"
        )

    def press_data(self, user_id: int, data: str, message_id: int) -> dict[str, Any]:
        """Queue a callback_query with arbitrary (possibly forged) data."""
        return self._callback(user_id, data, message_id)

    def _callback(self, user_id: int, data: str, message_id: int) -> dict[str, Any]:
        msg = self.message(user_id, message_id)
        if msg is not None and not msg.deleted:
            message = self.message_object(msg)
        else:
            message = {"chat": self.chat(user_id), "message_id": message_id, "date": 0}
        query_id = f"{user_id}{next(self._callback_ids):08d}"
        query = {
            "id": query_id,
            "from": self.user(user_id),
            "message": message,
            "chat_instance": str(abs(user_id) * 7919 % 10**12 + 10**12),
            "data": data,
        }
        self._pending_callbacks.add(query_id)
        self._queue_update("callback_query", query)
        return query

    def chat_member_update(
        self,
        user_id: int,
        new_status: str = "kicked",
        old_status: str = "member",
        **user: Unpack[UserInfo],
    ) -> dict[str, Any]:
        """Queue ``my_chat_member``; "kicked" also blocks the user, "member" unblocks."""
        bot = self.bot_user()
        payload = {
            "chat": self.chat(user_id),
            "from": self.user(user_id, **user),
            "date": now_ts(),
            "old_chat_member": member_object(old_status, bot),
            "new_chat_member": member_object(new_status, bot),
        }
        if new_status == "kicked":
            self.block(user_id)
        elif new_status == "member":
            self.unblock(user_id)
        self._queue_update("my_chat_member", payload)
        return payload


def _find_button(msg: SentMessage, text: str) -> dict[str, Any] | None:
    buttons = msg.inline_buttons
    for button in buttons:
        if button.get("text") == text:
            return button
    partial = [b for b in buttons if text in str(b.get("text", ""))]
    if len(partial) > 1:
        names = [b.get("text") for b in partial]
        raise AssertionError(f"button text {text!r} is ambiguous in #{msg.message_id}: {names}")
    return partial[0] if partial else None
