"""Bot API method implementations of the fake server (one ``m_<lowercased name>`` each)."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import re
from typing import Any

from tests.fakes.bot_api_model import (
    COMMAND_RE,
    FILE_KINDS,
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_SIZE,
    MAX_TEXT_LENGTH,
    ApiError,
    SentMessage,
    StoredFile,
    Upload,
    bad_request,
    loads_param,
    parse_bool,
    render_text,
    validate_reply_markup,
)
from tests.fakes.bot_api_state import now_ts
from tests.fakes.bot_api_users import UserActions

Params = dict[str, str]
Files = dict[str, Upload]

# Methods that simply answer ``true`` (settings the tests rarely care about).
OK_METHODS = frozenset(
    {
        "logout",
        "close",
        "setmydescription",
        "setmyshortdescription",
        "setmyname",
        "setchatmenubutton",
        "setmydefaultadministratorrights",
        "unpinchatmessage",
        "unpinallchatmessages",
        "setmessagereaction",
    }
)
DELETE_WINDOW = 48 * 3600  # seconds after sending a bot may delete its message
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def int_param(params: Params, name: str) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        raise bad_request(f"{name} is empty")
    try:
        return int(raw)
    except ValueError:
        if name.endswith("chat_id"):
            raise bad_request("chat not found") from None
        raise bad_request(f"invalid {name} specified") from None


class BotMethods(UserActions):
    """Implements the Bot API methods on top of the recorded state."""

    # ------------------------------------------------------------------ basics
    def m_getme(self, p: Params, f: Files) -> Any:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def m_getupdates(self, p: Params, f: Files) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(p["offset"]) if p.get("offset") else None
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = float(p.get("timeout") or 0)
        allowed = loads_param(p, "allowed_updates", "allowed updates")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            updates = self._take_updates(offset, limit, allowed)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self._closing:
                return updates
            self._updates_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), remaining)

    def m_setwebhook(self, p: Params, f: Files) -> Any:
        if not p.get("url"):
            raise bad_request("bad webhook: URL is empty")
        token = p.get("secret_token")
        if token is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", token):
            raise bad_request("secret token contains unallowed characters")
        if parse_bool(p.get("drop_pending_updates")):
            self._updates.clear()
        self.webhook = dict(p)
        self._webhook_wake.set()  # the pusher (bot_api_webhook) POSTs the queued updates
        return True

    def m_deletewebhook(self, p: Params, f: Files) -> Any:
        self.webhook = None
        if parse_bool(p.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def m_getwebhookinfo(self, p: Params, f: Files) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def m_getchat(self, p: Params, f: Files) -> Any:
        chat = self.chat(int_param(p, "chat_id"))
        gifts = (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        )
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    def m_getmydescription(self, p: Params, f: Files) -> Any:
        return {"description": self.bot_settings.get("description", "")}

    def m_getmyshortdescription(self, p: Params, f: Files) -> Any:
        return {"short_description": self.bot_settings.get("short_description", "")}

    def m_getmyname(self, p: Params, f: Files) -> Any:
        return {"name": self.bot_settings.get("name", self.bot_first_name)}

    def m_getchatmenubutton(self, p: Params, f: Files) -> Any:
        return {"type": "default"}

    def m_sendchataction(self, p: Params, f: Files) -> Any:
        int_param(p, "chat_id")
        if not p.get("action"):
            raise bad_request("action is empty")
        return True

    # ------------------------------------------------------------------ commands
    def _scope_key(self, p: Params) -> tuple[str, int | None, str]:
        scope = loads_param(p, "scope", "scope") or {"type": "default"}
        chat_id = scope.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        return str(scope.get("type", "default")), chat_id, p.get("language_code", "")

    def m_setmycommands(self, p: Params, f: Files) -> Any:
        commands = loads_param(p, "commands", "commands") or []
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(p)
        if commands:
            self._commands[key] = commands
        else:
            self._commands.pop(key, None)
        return True

    def m_deletemycommands(self, p: Params, f: Files) -> Any:
        self._commands.pop(self._scope_key(p), None)
        return True

    def m_getmycommands(self, p: Params, f: Files) -> Any:
        return self._commands.get(self._scope_key(p), [])

    def ok_method(self, p: Params) -> Any:
        """Methods in ``OK_METHODS``: remember bot settings, answer ``true``."""
        for key in ("description", "short_description", "name"):
            if key in p:
                self.bot_settings[key] = p[key]
        return True

    # ------------------------------------------------------------------ sending
    def _new_bot_message(
        self,
        p: Params,
        *,
        kind: str,
        raw: str | None,
        file: StoredFile | None = None,
        entities_param: str = "entities",
        source_entities: list[dict[str, Any]] | None = None,
        group: str | None = None,
    ) -> SentMessage:
        """Validate and record a new bot message; ``source_entities`` for copied content."""
        chat_id = int_param(p, "chat_id")
        parse_mode = p.get("parse_mode")
        given: list[dict[str, Any]] | None
        if source_entities is not None:
            parse_mode, given = None, source_entities
        else:
            given = loads_param(p, entities_param, "entities")
        visible, parsed = render_text(raw, parse_mode, given)
        entities = parsed or None
        if kind == "text":
            if not visible.strip():
                raise bad_request("message text is empty")
            if len(visible) > MAX_TEXT_LENGTH:
                raise bad_request("message is too long")
        elif len(visible) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = validate_reply_markup(loads_param(p, "reply_markup", "reply keyboard markup"))
        msg = SentMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            kind=kind,
            text=visible if raw is not None or kind == "text" else None,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
            date=now_ts(),
            options=p,
            file=file,
            media_group_id=group,
        )
        self._store_message(msg)
        return msg

    def m_sendmessage(self, p: Params, f: Files) -> Any:
        return self.message_object(self._new_bot_message(p, kind="text", raw=p.get("text")))

    def _input_file(self, p: Params, f: Files, field: str, kind: str) -> StoredFile:
        value = p.get(field)
        upload = f.get(field)
        if value and value.startswith("attach://"):
            upload = f.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file {value} not found in the request")
        if upload is not None:
            if not upload.content:
                raise bad_request("file must be non-empty")
            if len(upload.content) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename or "")[0] or mime
            return self._store_file(
                upload.content, kind=kind, filename=upload.filename, mime_type=mime
            )
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rpartition("/")[2] or None
            return self._store_file(b"", kind=kind, filename=name, mime_type=None)
        stored = self.file(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        actual = stored.file_path.partition("s/")[0]
        if actual != kind:
            raise bad_request(f"can't use file of type {actual.title()} as {kind.title()}")
        return stored

    def m_sendphoto(self, p: Params, f: Files) -> Any:
        stored = self._input_file(p, f, "photo", "photo")
        msg = self._new_bot_message(
            p, kind="photo", raw=p.get("caption"), file=stored, entities_param="caption_entities"
        )
        return self.message_object(msg)

    def m_senddocument(self, p: Params, f: Files) -> Any:
        stored = self._input_file(p, f, "document", "document")
        msg = self._new_bot_message(
            p,
            kind="document",
            raw=p.get("caption"),
            file=stored,
            entities_param="caption_entities",
        )
        return self.message_object(msg)

    def _source(self, p: Params, missing: str) -> dict[str, Any]:
        """The Message object to copy/forward: a live bot message or a user's message."""
        key = (int_param(p, "from_chat_id"), int_param(p, "message_id"))
        bot_msg = self._by_id.get(key)
        if bot_msg is not None and not bot_msg.deleted:
            return self.message_object(bot_msg)
        user_msg = self._user_messages.get(key)
        if user_msg is None or key in self.deleted_user_messages:
            raise bad_request(missing)
        return user_msg

    def _copy_into(self, p: Params, obj: dict[str, Any], group: str | None = None) -> SentMessage:
        """Create a bot message in ``p["chat_id"]`` with the content of ``obj`` (one of
        an album copied whole with ``copyMessages`` keeps an album: ``group``)."""
        if "text" in obj:
            return self._new_bot_message(
                p, kind="text", raw=obj["text"], source_entities=obj.get("entities") or []
            )
        kind = next((k for k in FILE_KINDS if k in obj), None)
        if kind is None:
            raise bad_request("message can't be copied")
        field = obj[kind]
        file_id = field[-1]["file_id"] if kind == "photo" else field["file_id"]
        stored = self.file(file_id)
        assert stored is not None, file_id
        if "caption" in p:
            return self._new_bot_message(
                p,
                kind=kind,
                raw=p["caption"],
                file=stored,
                entities_param="caption_entities",
                group=group,
            )
        return self._new_bot_message(
            p,
            kind=kind,
            raw=obj.get("caption"),
            file=stored,
            source_entities=obj.get("caption_entities") or [],
            group=group,
        )

    def m_copymessage(self, p: Params, f: Files) -> Any:
        msg = self._copy_into(p, self._source(p, "message to copy not found"))
        msg.source = (int(p["from_chat_id"]), int(p["message_id"]))
        return {"message_id": msg.message_id}

    def m_forwardmessage(self, p: Params, f: Files) -> Any:
        obj = self._source(p, "message to forward not found")
        params = {k: v for k, v in p.items() if k not in ("reply_markup", "caption")}
        msg = self._copy_into(params, obj)
        msg.source = (int(p["from_chat_id"]), int(p["message_id"]))
        msg.forward_origin = {"type": "user", "sender_user": obj["from"], "date": obj["date"]}
        return self.message_object(msg)

    # ------------------------------------------------------------------ editing
    def _editable(self, p: Params) -> SentMessage | None:
        if p.get("inline_message_id"):
            return None
        msg = self.message(int_param(p, "chat_id"), int_param(p, "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        return msg

    def _edit_markup(self, p: Params) -> dict[str, Any] | None:
        markup = validate_reply_markup(loads_param(p, "reply_markup", "reply keyboard markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    def _apply_edit(
        self, msg: SentMessage, p: Params, raw: str | None, entities_param: str
    ) -> Any:
        visible, parsed = render_text(
            raw, p.get("parse_mode"), loads_param(p, entities_param, "entities")
        )
        entities = parsed or None
        if msg.kind == "text":
            if not visible.strip():
                raise bad_request("message text is empty")
            if len(visible) > MAX_TEXT_LENGTH:
                raise bad_request("message is too long")
        elif len(visible) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = self._edit_markup(p)
        text = visible if raw is not None or msg.kind == "text" else None
        if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        msg.history.append(msg.text)
        msg.text, msg.raw_text, msg.entities = text, raw, entities
        msg.parse_mode = p.get("parse_mode")
        msg.reply_markup = markup
        return self._edited(msg)

    def _edited(self, msg: SentMessage) -> Any:
        msg.edits += 1
        msg.edit_date = now_ts()
        self._touch(msg)
        return self.message_object(msg)

    def m_editmessagetext(self, p: Params, f: Files) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(msg, p, p.get("text"), "entities")

    def m_editmessagecaption(self, p: Params, f: Files) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        if msg.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(msg, p, p.get("caption"), "caption_entities")

    def m_editmessagereplymarkup(self, p: Params, f: Files) -> Any:
        msg = self._editable(p)
        if msg is None:
            return True
        markup = self._edit_markup(p)
        if markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        msg.reply_markup = markup
        return self._edited(msg)

    def _delete(self, chat_id: int, message_id: int) -> bool:
        msg = self.message(chat_id, message_id)
        if msg is not None and not msg.deleted:
            msg.deleted = True
            self._touch(msg)
            return True
        key = (chat_id, message_id)
        if key in self._user_messages and key not in self.deleted_user_messages:
            self.deleted_user_messages.add(key)
            return True
        return False

    def m_pinchatmessage(self, p: Params, f: Files) -> Any:
        """https://core.telegram.org/bots/api#pinchatmessage: the message must exist;
        ``disable_notification`` pins silently."""
        msg = self.message(int_param(p, "chat_id"), int_param(p, "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to pin not found")
        msg.pinned = True
        msg.pinned_silently = parse_bool(p.get("disable_notification"))
        return True

    def m_deletemessage(self, p: Params, f: Files) -> Any:
        chat_id, message_id = int_param(p, "chat_id"), int_param(p, "message_id")
        msg = self.message(chat_id, message_id)
        # https://core.telegram.org/bots/api#deletemessage: "A message can only be deleted
        # if it was sent less than 48 hours ago."
        if msg is not None and not msg.deleted and now_ts() - msg.date >= DELETE_WINDOW:
            raise bad_request("message can't be deleted for everyone")
        if not self._delete(chat_id, message_id):
            raise bad_request("message to delete not found")
        return True

    def m_deletemessages(self, p: Params, f: Files) -> Any:
        """https://core.telegram.org/bots/api#deletemessages: 1-100 identifiers; "If some
        of the specified messages can't be found, they are skipped"; the limits of
        deleteMessage apply (a message older than 48 hours is skipped too)."""
        chat_id = int_param(p, "chat_id")
        ids = loads_param(p, "message_ids", "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must include 1-100 identifiers")
        for message_id in ids:
            msg = self.message(chat_id, int(message_id))
            if msg is not None and now_ts() - msg.date >= DELETE_WINDOW:
                continue
            self._delete(chat_id, int(message_id))
        return True

    # ------------------------------------------------------------------ callbacks, files
    def m_answercallbackquery(self, p: Params, f: Files) -> Any:
        query_id = p.get("callback_query_id", "")
        if query_id not in self._pending_callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(p.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self._record_answer(
            {
                "callback_query_id": query_id,
                "text": p.get("text"),
                "show_alert": parse_bool(p.get("show_alert")),
                "url": p.get("url"),
                "cache_time": int(p.get("cache_time") or 0),
            }
        )
        return True

    def m_getfile(self, p: Params, f: Files) -> Any:
        stored = self.file(p.get("file_id", ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return {
            "file_id": p["file_id"],
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
