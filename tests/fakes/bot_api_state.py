"""State of the fake Bot API: recorded bot messages, files, the update queue, faults."""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import hashlib
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.fakes.bot_api_model import (
    DEFAULT_DESCRIPTIONS,
    ApiError,
    FaultRule,
    SentMessage,
    StoredFile,
    UserInfo,
    chat_object,
    document_object,
    file_object,
    user_object,
)

MessagePredicate = Callable[[SentMessage], bool]


class FakeState:
    """Everything the fake remembers; ``FakeBotAPI`` adds the HTTP server on top."""

    def __init__(
        self,
        *,
        bot_username: str = "mailforge_test_bot",
        bot_first_name: str = "MailForge Test Bot",
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_id: int | None = None  # learned from the token of the first request
        # --- recording
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.unknown_methods: list[str] = []
        self.callback_answers: list[dict[str, Any]] = []
        # send calls per client port: which connection (so which process) sent how many
        self.send_ports: collections.Counter[int] = collections.Counter()
        self.webhook: dict[str, str] | None = None
        self.bot_settings: dict[str, str] = {}
        self._commands: dict[tuple[str, int | None, str], list[dict[str, Any]]] = {}
        self._ok_counts: collections.Counter[str] = collections.Counter()
        self._ok_counts_chat: collections.Counter[tuple[str, int]] = collections.Counter()
        # --- bot messages: per chat list + (chat, id) index + per chat change log
        self._messages: dict[int, list[SentMessage]] = {}
        self._by_id: dict[tuple[int, int], SentMessage] = {}
        self._changes: dict[int, list[tuple[int, SentMessage]]] = {}
        self._seq = 0
        self._msg_waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._answer_waiters: list[asyncio.Future[None]] = []
        # --- users, their messages, callback queries
        self.users: dict[int, UserInfo] = {}
        self._user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.deleted_user_messages: set[tuple[int, int]] = set()
        self._next_mid: dict[int, int] = {}
        self._pending_callbacks: set[str] = set()
        self._callback_ids = itertools.count(1)
        # --- update queue for getUpdates
        self._updates: collections.deque[dict[str, Any]] = collections.deque()
        self._update_ids = itertools.count(1)
        self._updates_event = asyncio.Event()
        self._webhook_wake = asyncio.Event()  # an update, or a webhook set: push (webhook mode)
        # --- files
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        # --- faults
        self.delay: float = 0.0
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.missing_chats: set[int] = set()
        self._faults: list[FaultRule] = []
        self._lost_answers: list[FaultRule] = []  # carried out, then answered with an error
        self._hang: collections.Counter[str] = collections.Counter()
        self._hung: list[asyncio.Future[None]] = []
        self._held: dict[int, asyncio.Event] = {}  # chat -> sends there wait until set
        self._let_through = 0  # sends to held chats that still pass
        self._closing = False

    # ------------------------------------------------------------------ bot identity
    def bot_user(self) -> dict[str, Any]:
        info: UserInfo = {"first_name": self.bot_first_name, "username": self.bot_username}
        return user_object(self.bot_id or 123456, info, is_bot=True)

    def chat(self, chat_id: int) -> dict[str, Any]:
        return chat_object(chat_id, self.users.get(chat_id))

    def message_object(self, msg: SentMessage) -> dict[str, Any]:
        """The Telegram ``Message`` object of a bot message (current state)."""
        obj: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user(),
            "chat": self.chat(msg.chat_id),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            obj["edit_date"] = msg.edit_date
        if msg.forward_origin is not None:
            obj["forward_origin"] = msg.forward_origin
        if msg.kind == "text":
            obj["text"] = msg.text or ""
            if msg.entities:
                obj["entities"] = msg.entities
        else:
            if msg.text:
                obj["caption"] = msg.text
            if msg.entities:
                obj["caption_entities"] = msg.entities
            if msg.file is not None:
                obj[msg.kind] = file_object(msg.kind, msg.file)
                if msg.kind == "animation":  # "for backward compatibility" (Message)
                    obj["document"] = document_object(msg.file)
            if msg.media_group_id is not None:
                obj["media_group_id"] = msg.media_group_id
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            obj["reply_markup"] = msg.reply_markup
        return obj

    # ------------------------------------------------------------------ recorded output
    def messages(self, chat_id: int) -> list[SentMessage]:
        """Bot messages in ``chat_id`` in send order (deleted ones included, flagged)."""
        return list(self._messages.get(chat_id, ()))

    def age(self, chat_id: int, hours: float) -> None:
        """The bot's messages in ``chat_id`` were sent ``hours`` earlier than recorded (the
        fake's clock for the 48-hour limits)."""
        for msg in self.messages(chat_id):
            msg.date -= int(hours * 3600)

    def last_message(self, chat_id: int) -> SentMessage | None:
        items = self._messages.get(chat_id)
        return items[-1] if items else None

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._by_id.get((chat_id, message_id))

    def sent_documents(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self._messages.get(chat_id, ()) if m.kind == "document"]

    @property
    def chat_ids(self) -> list[int]:
        return list(self._messages)

    def sent_count(self, method: str = "sendMessage", chat_id: int | None = None) -> int:
        """Number of *successful* calls of ``method`` (optionally to one chat)."""
        if chat_id is None:
            return self._ok_counts[method.lower()]
        return self._ok_counts_chat[(method.lower(), chat_id)]

    def request_count(self, method: str) -> int:
        """Number of calls of ``method``, failed ones included."""
        lowered = method.lower()
        return sum(1 for name, _ in self.requests if name.lower() == lowered)

    def calls(self, method: str) -> list[dict[str, str]]:
        lowered = method.lower()
        return [params for name, params in self.requests if name.lower() == lowered]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def unanswered_callbacks(self) -> set[str]:
        return set(self._pending_callbacks)

    def commands_for(self, chat_id: int, language_code: str | None = None) -> list[str]:
        """Command names effective in a private chat: chat scope, else private, else default."""
        keys = [("chat", chat_id), ("all_private_chats", None), ("default", None)]
        for scope, scope_chat in keys:
            for lang in ([language_code] if language_code else []) + [""]:
                found = self._commands.get((scope, scope_chat, lang))
                if found:
                    return [str(c["command"]) for c in found]
        return []

    @property
    def commands(self) -> dict[tuple[str, int | None], list[dict[str, Any]]]:
        """Commands per (scope type, chat_id) for the default language."""
        return {(s, c): cmds for (s, c, lang), cmds in self._commands.items() if not lang}

    # ------------------------------------------------------------------ waiting
    def mark(self, chat_id: int | None = None) -> int:
        """A point in time; pass as ``since=`` to consider only later sends/edits."""
        return self._seq

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int | None = None,
        include_deleted: bool = False,
    ) -> SentMessage:
        """Wait for a bot message in ``chat_id`` (new or edited) matching the conditions.

        Without ``since`` the newest matching existing message is returned at once;
        with ``since`` the first message sent or edited after that mark is returned.
        Deleted messages are skipped unless ``include_deleted`` (deletion counts as a
        change, so ``predicate=lambda m: m.deleted, include_deleted=True`` waits for it).
        """

        def ok(msg: SentMessage) -> bool:
            if msg.deleted and not include_deleted:
                return False
            if contains is not None and not msg.contains(contains):
                return False
            return predicate is None or predicate(msg)

        if since is None:
            for msg in reversed(self._messages.get(chat_id, ())):
                if ok(msg):
                    return msg
            since = self._seq
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            log = self._changes.get(chat_id, [])
            start = bisect.bisect_right(log, since, key=lambda item: item[0])
            for seq, msg in log[start:]:
                if ok(msg):
                    return msg
                since = seq
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            waiter: asyncio.Future[None] = loop.create_future()
            self._msg_waiters.setdefault(chat_id, []).append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)
        recent = "\n".join("  " + m.short() for m in self._messages.get(chat_id, [])[-8:])
        condition = f"contains={contains!r}" + (" and predicate" if predicate else "")
        raise AssertionError(
            f"no bot message in chat {chat_id} with {condition} within {timeout}s; "
            f"last messages:\n{recent or '  (none)'}"
        )

    async def wait_for_callback_answer(
        self,
        callback_query_id: str | None = None,
        *,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int = 0,
    ) -> dict[str, Any]:
        """Wait for an answerCallbackQuery; ``since`` is an index into ``callback_answers``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            for answer in self.callback_answers[index:]:
                if callback_query_id not in (None, answer["callback_query_id"]):
                    continue
                if predicate is None or predicate(answer):
                    return answer
            index = len(self.callback_answers)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no callback answer for {callback_query_id!r} within {timeout}s; "
                    f"answers: {self.callback_answers[-5:]}"
                )
            waiter: asyncio.Future[None] = loop.create_future()
            self._answer_waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, remaining)

    def _wake(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        waiters.clear()

    def _touch(self, msg: SentMessage) -> None:
        """Register a new message or an edit: bump its seq and wake waiters of the chat."""
        self._seq += 1
        msg.seq = self._seq
        self._changes.setdefault(msg.chat_id, []).append((self._seq, msg))
        waiters = self._msg_waiters.get(msg.chat_id)
        if waiters:
            self._wake(waiters)

    def _record_answer(self, answer: dict[str, Any]) -> None:
        self.callback_answers.append(answer)
        self._wake(self._answer_waiters)

    def _store_message(self, msg: SentMessage) -> None:
        self._messages.setdefault(msg.chat_id, []).append(msg)
        self._by_id[(msg.chat_id, msg.message_id)] = msg
        self._touch(msg)

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_mid.get(chat_id, 0) + 1
        self._next_mid[chat_id] = mid
        return mid

    # ------------------------------------------------------------------ files
    def _store_file(
        self, content: bytes, *, kind: str, filename: str | None, mime_type: str | None
    ) -> StoredFile:
        n = next(self._file_counter)
        digest = hashlib.sha1(content).hexdigest()  # noqa: S324 - not security relevant
        prefix = {"photo": "AgAC", "document": "BQAC", "video": "BAAC", "voice": "AwAC"}.get(
            kind, "CAAC"
        )
        ext = (filename or "").rpartition(".")[2] if filename and "." in filename else "bin"
        if kind == "photo":
            ext = "jpg"
        stored = StoredFile(
            file_id=f"{prefix}FAKE{n:06d}{digest[:12]}",
            file_unique_id=f"AQAD{digest[:16]}",
            content=content,
            file_path=f"{kind}s/file_{n}.{ext}",
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by id (thumbnail ids of photos resolve to the photo)."""
        return self._files.get(file_id.removesuffix("_thumb"))

    def file_by_path(self, file_path: str) -> StoredFile | None:
        return self._file_paths.get(file_path)

    # ------------------------------------------------------------------ update queue
    def _queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._updates_event.set()
        self._webhook_wake.set()
        return update

    def _take_updates(
        self, offset: int | None, limit: int, allowed: list[str] | None
    ) -> list[dict[str, Any]]:
        queue = self._updates
        if offset is not None and offset < 0:
            while len(queue) > -offset:
                queue.popleft()
        elif offset is not None:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
        result = []
        for update in queue:
            if allowed and not any(key in update for key in allowed):
                continue
            result.append(update)
            if len(result) >= limit:
                break
        return result

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any) fail with this error."""
        if description is None:
            description = DEFAULT_DESCRIPTIONS.get(error_code, "Error")
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
        self._faults.append(
            FaultRule(method.lower(), error_code, description, retry_after, chat_id, times)
        )

    def lose_answer_next(
        self, method: str, *, error_code: int = 502, chat_id: int | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is delivered)
        but answered with ``error_code``: not a Bot API rule, a network fact — a front
        proxy that loses the server's answer and says "Bad Gateway" (as ``hang_next`` is
        an answer that never comes)."""
        description = DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        rule = FaultRule(method.lower(), error_code, description, None, chat_id, times)
        self._lost_answers.append(rule)

    def _check_lost_answer(self, method: str, chat_id: int | None) -> None:
        rule = _take(self._lost_answers, method, chat_id)
        if rule is not None:
            raise ApiError(rule.error_code, rule.description)

    def hang_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` never get an answer (until ``stop``)."""
        self._hang[method.lower()] += times

    def hold_sends(self, chat_ids: Iterable[int], *, let_through: int = 0) -> asyncio.Event:
        """Sends to ``chat_ids`` (after the first ``let_through`` of them) get their answer
        only once the returned event is set: a test holds a run half way on state rather
        than on a delay it races against."""
        release = asyncio.Event()
        self._held.update(dict.fromkeys(chat_ids, release))
        self._let_through = let_through
        return release

    async def _wait_if_held(self, method: str, chat_id: int | None) -> None:
        release = self._held.get(chat_id) if chat_id is not None else None
        if release is None or release.is_set() or not method.startswith("send"):
            return
        if self._let_through > 0:
            self._let_through -= 1
            return
        await release.wait()

    def block(self, user_id: int) -> None:
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    def deactivate(self, user_id: int) -> None:
        self.deactivated.add(user_id)

    def forget_chat(self, chat_id: int) -> None:
        self.missing_chats.add(chat_id)

    def _check_faults(self, method: str, chat_id: int | None) -> None:
        rule = _take(self._faults, method, chat_id)
        if rule is not None:
            raise ApiError(rule.error_code, rule.description, rule.retry_after)

    def _check_recipient(self, method: str, chat_id: int | None) -> None:
        if chat_id is None:
            return
        if chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if method.startswith("send") or method in ("copymessage", "forwardmessage"):
            if chat_id in self.deactivated:
                raise ApiError(403, "Forbidden: user is deactivated")
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _count_ok(self, method: str, chat_id: int | None) -> None:
        self._ok_counts[method] += 1
        if chat_id is not None:
            self._ok_counts_chat[(method, chat_id)] += 1


def _take(rules: list[FaultRule], method: str, chat_id: int | None) -> FaultRule | None:
    """The first rule this call matches, used up once (and dropped when spent)."""
    for rule in rules:
        if rule.matches(method, chat_id):
            rule.times -= 1
            if rule.times <= 0:
                rules.remove(rule)
            return rule
    return None


def now_ts() -> int:
    return int(time.time())
