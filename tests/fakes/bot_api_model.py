"""Data classes and pure helpers of the fake Telegram Bot API (see ``bot_api.py``)."""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypedDict

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024

TOKEN_RE = re.compile(r"^(\d+):[\w-]+$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# Methods that deliver a new message into a chat: rate limits, block/deactivate apply.
# An album (sendMediaGroup, copyMessages) is one request and counts as one send: no
# source says how Telegram counts its items against the 30/s (an assumption).
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendanimation",
        "sendaudio",
        "sendvoice",
        "sendvideonote",
        "sendsticker",
        "sendmediagroup",
        "copymessage",
        "copymessages",
        "forwardmessage",
    }
)
# The kinds of file a message carries (each a field of Message of that name); where the
# fake keeps each kind's files (``file_path``'s folder, as getFile answers it).
FILE_KINDS = (
    "photo",
    "animation",
    "video",
    "audio",
    "voice",
    "video_note",
    "sticker",
    "document",
)

TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class UserInfo(TypedDict, total=False):
    """Profile fields of a simulated user (``from`` of every queued update)."""

    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class FaultRule:
    """One ``fail_next`` entry: the next ``times`` matching calls fail."""

    method: str  # lowercased method name or "*"
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content: bytes
    content_type: str | None


@dataclass
class StoredFile:
    """A file the fake knows: uploaded by the bot or sent by a simulated user."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.content)


@dataclass
class SentMessage:
    """A message the bot sent (state after all edits)."""

    message_id: int
    chat_id: int
    kind: str  # "text" or one of FILE_KINDS
    text: str | None  # visible text (HTML stripped/unescaped); caption for media
    raw_text: str | None  # text/caption exactly as sent in the last send/edit
    parse_mode: str | None
    entities: list[dict[str, Any]] | None
    reply_markup: dict[str, Any] | None
    date: int
    options: dict[str, str]  # raw params of the send call
    file: StoredFile | None = None
    deleted: bool = False
    edits: int = 0
    history: list[str | None] = field(default_factory=list)  # visible texts before edits
    source: tuple[int, int] | None = None  # (chat_id, message_id) for copies/forwards
    forward_origin: dict[str, Any] | None = None  # set for forwardMessage results
    edit_date: int | None = None
    pinned: bool = False
    pinned_silently: bool = False
    media_group_id: str | None = None  # an album's items share it
    seq: int = 0  # internal change counter, compare with ``FakeBotAPI.mark()``

    @property
    def forwarded(self) -> bool:
        return self.forward_origin is not None

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None

    @property
    def file_bytes(self) -> bytes | None:
        return self.file.content if self.file else None

    @property
    def filename(self) -> str | None:
        return self.file.filename if self.file else None

    @property
    def file_id(self) -> str | None:
        return self.file.file_id if self.file else None

    @property
    def button_rows(self) -> list[list[str]]:
        """Texts of inline (or reply keyboard) buttons, row by row."""
        return [[button_text(b) for b in row] for row in keyboard_rows(self.reply_markup)]

    @property
    def buttons(self) -> list[str]:
        return [text for row in self.button_rows for text in row]

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def callback_data(self, text: str) -> str | None:
        for button in self.inline_buttons:
            if button.get("text") == text:
                return button.get("callback_data")
        return None

    def contains(self, needle: str) -> bool:
        return needle in (self.text or "") or needle in (self.raw_text or "")

    def short(self) -> str:
        flags = " deleted" if self.deleted else ""
        flags += f" edits={self.edits}" if self.edits else ""
        body = (self.text or "")[:200].replace("\n", "\\n")
        buttons = f" buttons={self.buttons}" if self.buttons else ""
        return f"#{self.message_id} [{self.kind}{flags}] {body!r}{buttons}"


def keyboard_rows(markup: dict[str, Any] | None) -> list[list[Any]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return list(rows)


def button_text(button: Any) -> str:
    if isinstance(button, dict):
        return str(button.get("text", ""))
    return str(button)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def loads_param(params: dict[str, str], name: str, what: str) -> Any:
    """Decode a JSON-encoded parameter (aiogram sends nested objects as JSON strings)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request(f"can't parse {what} JSON object") from None


def parse_bool(raw: str | None) -> bool:
    return raw is not None and raw.lower() in ("true", "1")


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if not INLINE_BUTTON_ACTIONS.intersection(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid")
    return markup


class _TelegramHTML(HTMLParser):
    """Crude model of Telegram's HTML parse mode: validates tags, builds text + entities."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.parts: list[str] = []
        self._u16 = 0  # UTF-16 offset in the visible text
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.entities: list[dict[str, Any]] = []
        self.error: str | None = None

    def _pos(self) -> int:
        line, col = self.getpos()
        line_starts = [0] + [m.end() for m in re.finditer("\n", self.source)]
        return line_starts[line - 1] + col

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self._u16 += utf16_len(text)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._fail(f'Unsupported start tag "" at byte offset {self._pos() + data.index("<")}')
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        self._add(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._add(html.unescape(f"&#{name};"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAG_ENTITY:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._pos()}')
            return
        self.stack.append((tag, dict(attrs), self._u16))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._pos()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'Unexpected end tag "{tag}" at byte offset {self._pos()}')
            return
        open_tag, attrs, start = self.stack.pop()
        if open_tag != tag:
            self._fail(
                f"Unmatched end tag at byte offset {self._pos()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
            return
        length = self._u16 - start
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": TAG_ENTITY[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attrs.get("href") or ""
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id") or ""
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attrs.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
            return
        elif tag == "pre" and attrs.get("language"):
            entity["language"] = attrs["language"]
        self.entities.append(entity)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        if self.error is not None:
            raise bad_request(f"can't parse entities: {self.error}")
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


@functools.lru_cache(maxsize=2048)
def _parse_html(text: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    """Cached: a mass mailing sends the same HTML to many chats (callers copy the dicts)."""
    visible, entities = _TelegramHTML(text).run()
    return visible, tuple(entities)


def render_text(
    raw: str | None, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    """Return (visible text, entities) of a text/caption as Telegram would show it."""
    text = raw or ""
    if entities is not None:
        return text, entities
    if parse_mode is None:
        return text, None
    mode = parse_mode.lower()
    if mode == "html":
        if "<" not in text and "&" not in text:
            return text, None
        visible, parsed = _parse_html(text)
        return visible, [dict(e) for e in parsed] or None
    if mode in ("markdown", "markdownv2"):
        return text, None
    raise bad_request("unsupported parse_mode")


def user_object(user_id: int, info: UserInfo, *, is_bot: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": user_id,
        "is_bot": is_bot,
        "first_name": info.get("first_name") or "User",
    }
    for key in ("last_name", "username", "language_code"):
        value = info.get(key)
        if value is not None:
            obj[key] = value
    return obj


def chat_object(chat_id: int, info: UserInfo | None) -> dict[str, Any]:
    if chat_id < 0:
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
    chat: dict[str, Any] = {"id": chat_id, "type": "private"}
    chat["first_name"] = (info or {}).get("first_name") or "User"
    for key in ("last_name", "username"):
        value = (info or {}).get(key)
        if value is not None:
            chat[key] = value
    return chat


def member_object(status: str, user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    return member


def photo_sizes(file: StoredFile) -> list[dict[str, Any]]:
    width, height = image_size(file.content)
    thumb_w, thumb_h = (90, max(1, round(90 * height / width))) if width > 90 else (width, height)
    return [
        {
            "file_id": f"{file.file_id}_thumb",
            "file_unique_id": f"{file.file_unique_id}_t",
            "width": thumb_w,
            "height": thumb_h,
            "file_size": min(file.file_size, 2048),
        },
        {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "width": width,
            "height": height,
            "file_size": file.file_size,
        },
    ]


def document_object(file: StoredFile) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.file_size,
    }
    if file.filename:
        doc["file_name"] = file.filename
    if file.mime_type:
        doc["mime_type"] = file.mime_type
    return doc


def image_size(content: bytes) -> tuple[int, int]:
    """Width/height of a PNG or GIF; 800x600 for anything else."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        return int.from_bytes(content[6:8], "little"), int.from_bytes(content[8:10], "little")
    return 800, 600


def file_object(kind: str, file: StoredFile) -> Any:
    """The ``Message`` field of a file of ``kind`` (``PhotoSize`` list, ``Video``…)."""
    if kind == "photo":
        return photo_sizes(file)
    base: dict[str, Any] = {
        "file_id": file.file_id,
        "file_unique_id": file.file_unique_id,
        "file_size": file.file_size,
    }
    if kind == "document":
        return document_object(file)
    if kind in ("video", "animation"):
        base |= {"width": 640, "height": 360, "duration": 5}
    elif kind in ("audio", "voice"):
        base["duration"] = 5
    elif kind == "video_note":
        base |= {"length": 240, "duration": 5}
    elif kind == "sticker":
        base |= {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    if kind in ("video", "animation", "audio") and file.filename:
        base["file_name"] = file.filename
    if kind in ("video", "animation", "audio", "voice") and file.mime_type:
        base["mime_type"] = file.mime_type
    return base
