"""Telegram channel: each rendered message goes to one chat through the Bot API (aiogram).

Facts it is built on (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this,
https://core.telegram.org/bots/api#making-requests):

* about 30 messages/s in total and 1 message/s per chat; over that the API answers 429
  with ``retry_after`` and the only correct reaction is to wait that long;
* paid broadcasts (Bot API 7.11, https://core.telegram.org/bots/api#sendmessage
  ``allow_paid_broadcast``) lift the total to 1000 messages/s for 0.1 Star per message
  above the free amount: a *fast* run (``RunContent.paid``) goes through its own lane at
  the configured rate with the flag on every send; every other run (free mailings, test
  sends) stays at most at the free 30/s and never carries the flag. The lanes keep their
  own budgets: Telegram does not say whether free sends count against the paid 1000/s, so
  a free run beside a fast one at 1000/s may meet 429s, and the paid lane then learns the
  rate that is left (``ratelimit_learning``);
* 403 (blocked by the user, user deactivated) is permanent: the address is refused;
* 400 "chat not found", "can't parse entities", "message is too long" are permanent;
* bots have no idempotency key, so a request that may have reached Telegram is never
  sent again: a timeout or a dropped connection after sending is ``failed`` "uncertain";
* a 5xx is different: Telegram says nothing of what a 5xx means for the message, and
  failing everyone during a Bot API incident would lose far more than it saves, so it is
  retried, by the engine's backoff only (never in place, even when the answer carries a
  ``retry_after``: ``TelegramSession``), and marked ``answer_lost``: if the message had
  gone out, the recipient gets it twice, and the run's statistics count it as "possibly
  sent twice" (the at-least-once cost; assumption, degrades to a duplicate, never a loss);
* the pin option pins each copy after sending (``pinChatMessage``, which works in private
  chats, with ``disable_notification``); a failed pin never sends the copy again;
* follow-ups act on a delivered copy by its message id: a recall calls ``deleteMessage``
  (https://core.telegram.org/bots/api#deletemessage, 48 hours after sending at most: the
  answer "message can't be deleted" is recorded as ``KEPT``), an edit
  ``editMessageText`` or ``editMessageCaption``. Both are idempotent, so unlike a send an
  uncertain one is tried again. They go through the free lane, never flagged as paid
  broadcasts (the flag is a send's); that they count against the 30/s like sends is an
  assumption (Telegram does not say), the stricter reading;
* media (``domain.media``): each kind by its method (``sendVideo``, ``sendAnimation``,
  ``sendAudio``, ``sendVoice``, ``sendVideoNote``, ``sendSticker``, ``sendPhoto``,
  ``sendDocument``) with the file's ``file_id``, a caption where the method has one; an
  album by ``sendMediaGroup`` (no buttons: it has no ``reply_markup``), whose answer is
  every sent message: their ids are all kept (``domain.media.provider_id``) so a recall
  deletes them all with one ``deleteMessages`` and an edit changes the first one's
  caption. An album is one request and takes one slot of the rate limiter: how Telegram
  counts its items against the 30/s is not documented (an assumption; a 429 is waited
  out like any);
* an exact copy goes by ``copyMessage`` (``copyMessages`` for an album, which takes
  neither buttons nor ``allow_paid_broadcast``: such a run always uses the free lane)
  from the manager's chat with the bot; the answer's message id(s) are kept like a
  send's. A post deleted from that chat since is refused by Telegram ("message to copy
  not found") and recorded as failed per recipient.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, cast

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    CopyMessage,
    CopyMessages,
    DeleteMessage,
    DeleteMessages,
    EditMessageCaption,
    EditMessageText,
    PinChatMessage,
    Response,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from aiogram.utils.media_group import MediaGroupBuilder
from pydantic import BaseModel, ConfigDict

from domain.answers import ANSWER_RUN, answer_labels, callback_data
from domain.buttons import url_buttons
from domain.delivery import Message, Outcome, RunContent, SendResult
from domain.follow_ups import KEPT, PIN
from domain.media import (
    CAPTIONLESS,
    SINGLE,
    MediaKind,
    delivered_caption,
    is_album,
    is_copy,
    kind_of,
    provider_id,
)
from domain.runs import RunKind
from infrastructure.channels.fanout import send_each
from infrastructure.channels.ratelimit import (
    LimiterUnavailable,
    MemoryRateLimiter,
    Paused,
    RateLimiter,
)
from infrastructure.channels.telegram_wire import Prepared, send_for_id

log = logging.getLogger(__name__)
FREE_RATE = 30.0  # Telegram's free broadcast limit, messages/s
PAID_RATE = 1000.0  # the most paid broadcasts allow
# The paid lane keeps this many seconds of its rate in flight at most: a send holds its
# runner for its whole round trip, so the runners cap the lane at runners / round trip.
# With the 32 of the free lane, 1000/s paid went at 605/s against the fake on a loaded
# machine (round trip 28 ms median, 55 ms p90); with 100, 840/s (load 5-6). A real
# server's round trip is longer still.
PAID_IN_FLIGHT = 0.1
UNCERTAIN = "uncertain: timed out after sending"
LOST = "uncertain: connection lost after sending"
ALREADY_GONE = "already gone from the chat"
NOT_MODIFIED = "unchanged: it already read so"
NOT_IN_CHAT = "not edited: the copy is no longer in the chat"
# aiohttp raises these only while connecting, i.e. before a byte of the request left.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# Sends one prepared request: the sent (or acted on) message's id (an album's ids).
_Send = Callable[[], Awaitable[int | list[int]]]
# (chat id, the rendered message) -> its request, built before the rate limiter's slot is
# taken (the send holds its place in the budget while in flight: nothing slow after it).
_Call = Callable[[int, Message], _Send]


class SentId(BaseModel):
    """All a delivery keeps of the sent message. aiogram parses each answer as a whole
    ``Message`` (sender, chat, entities, media): ~54 µs of CPU per answer on a fast
    machine against ~8 µs for this, at hundreds of messages a second the biggest cost of
    the send after the HTTP exchange itself (bench/delivery.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    message_id: int


# aiogram's own methods, answered with ``SentId``: same fields, same request, same errors.
class SendMessageForId(SendMessage):
    __returning__ = SentId  # type: ignore[assignment]  # a narrower answer, on purpose


def _for_id(method: type[TelegramMethod[Any]]) -> type[TelegramMethod[Any]]:
    """``method`` answered with ``SentId``: same fields, same request, same errors. Its
    validator is built on its first use (``defer_build``), as aiogram's own types are
    (``bot/slim_aiogram.py``): building the eight media kinds' at import cost every process
    ~0.1-0.2 s of CPU at start, though most runs send text only."""
    namespace = {
        "__returning__": SentId,
        "__module__": __name__,
        "model_config": ConfigDict(defer_build=True),
    }
    return type(f"{method.__name__}ForId", (method,), namespace)


class SendMediaGroupForIds(SendMediaGroup):
    __returning__ = list[SentId]  # a narrower answer, on purpose


_SINGLE_METHODS: dict[MediaKind, type[TelegramMethod[Any]]] = {
    MediaKind.photo: _for_id(SendPhoto),
    MediaKind.video: _for_id(SendVideo),
    MediaKind.animation: _for_id(SendAnimation),
    MediaKind.audio: _for_id(SendAudio),
    MediaKind.voice: _for_id(SendVoice),
    MediaKind.video_note: _for_id(SendVideoNote),
    MediaKind.sticker: _for_id(SendSticker),
    MediaKind.document: _for_id(SendDocument),
}


def _counted_in(call: _Call, lane: RateLimiter) -> _Call:
    """``call``, each request counted in ``lane`` as well while in flight and from its
    answer: Telegram's paid 1000/s counts every send of the bot, the free ones too, so the
    fast lane leaves them their share (without it a free run beside a fast one at the
    limit drew 429s, 5 s pauses of the fast lane, test_telegram_paid.py)."""

    def counted(chat_id: int, message: Message) -> _Send:
        send = call(chat_id, message)

        async def send_counted() -> int | list[int]:
            taken = await lane.take()
            try:
                return await send()
            finally:
                await lane.sent(taken)  # a 429 too: the free lane's, counted to be safe

        return send_counted

    return counted


def _album_media(items: Sequence[dict[str, Any]], caption: str) -> list[Any]:
    """``sendMediaGroup``'s items; the caption (HTML) goes with the first one."""
    album = MediaGroupBuilder(caption=caption or None)
    add: Any = album.add  # typed per literal kind; these kinds come from the data
    for item in items:
        add(type=str(item["type"]), media=str(item["file_id"]), parse_mode="HTML")
    return album.build()


class TelegramSession(AiohttpSession):
    """aiogram's HTTP session, except that every 5xx answer raises ``TelegramServerError``.

    aiogram raises ``TelegramRetryAfter`` for any answer that carries ``retry_after``,
    whatever its status, and ``ClientDecodeError`` for a body that is no JSON (a proxy's
    error page). The channel would then send a 5xx'd message again in place after
    ``retry_after`` seconds (faster than the engine's backoff, each time maybe a
    duplicate), or fail it for good as unreadable. A 5xx is neither: it goes back to the
    queue with the engine's backoff, marked as a possible duplicate (``_classify``).
    """

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        try:
            return super().check_response(bot, method, status_code, content)
        except (TelegramRetryAfter, ClientDecodeError) as exc:
            if status_code < HTTPStatus.INTERNAL_SERVER_ERROR:
                raise
            text = exc.message if isinstance(exc, TelegramRetryAfter) else "not Telegram's"
            raise TelegramServerError(method, f"HTTP {status_code}: {text}") from exc

    async def close(self) -> None:
        """aiogram's ``close`` then sleeps 0.25 s, the wait aiohttp's docs once asked for
        so that SSL connections could close before the loop did. aiohttp (3.14 in the
        locks) now awaits every connection's close in ``ClientSession.close`` itself, so
        the sleep only delayed each shutdown: 0.25 s per bot closed, in every test too."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


class TelegramChannel:
    """Sends through ``bot`` (owned by the caller: ``close`` does not close its session).

    ``rate`` is the configured budget: free runs go at most at ``FREE_RATE`` through
    ``limiter``; when ``rate`` is above it, fast runs go at ``rate`` through
    ``paid_limiter`` with ``allow_paid_broadcast``. ``concurrency`` sends are in flight at
    most in the free lane; the paid lane keeps ``PAID_IN_FLIGHT`` s of its rate (at least as
    many), in runners of its own. ``max_wait`` is the longest 429 pause
    waited out in place: a longer one hands the message back as ``retry`` so a batch never
    outlives the worker's lease. ``on_retry_after`` hears every 429 with its
    ``retry_after`` seconds (for metrics).
    """

    def __init__(
        self,
        bot: Bot,
        *,
        rate: float = FREE_RATE,
        per_chat_interval: float = 1.0,
        concurrency: int = 32,
        limiter: RateLimiter | None = None,
        paid_limiter: RateLimiter | None = None,
        max_wait: float = 60.0,
        max_flood_waits: int = 5,
        on_retry_after: Callable[[float], None] | None = None,
    ) -> None:
        self._bot = bot
        self._on_retry_after = on_retry_after
        self._limiter = limiter or MemoryRateLimiter(min(rate, FREE_RATE), per_chat_interval)
        if paid_limiter is None and rate > FREE_RATE:
            paid_limiter = MemoryRateLimiter(rate, per_chat_interval)
        self._paid_limiter = paid_limiter
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._paid_width = max(concurrency, math.ceil(rate * PAID_IN_FLIGHT))
        self._paid_slots = asyncio.Semaphore(self._paid_width)
        self._max_wait = max_wait
        self._max_flood_waits = max_flood_waits

    def lane(self, content: RunContent) -> tuple[RateLimiter, bool]:
        """The limiter a run's sends take, and whether they are paid broadcasts."""
        if content.kind is not RunKind.send:
            return self._limiter, False
        if is_copy(content.media) and is_album(content.media):
            return self._limiter, False  # copyMessages takes no allow_paid_broadcast
        if content.paid and self._paid_limiter is not None:
            return self._paid_limiter, True
        return self._limiter, False

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        limiter, paid = self.lane(content)
        follow_up = content.kind is not RunKind.send
        call = self._follow_up(content) if follow_up else self._request(content, paid)
        if not paid and self._paid_limiter is not None:
            call = _counted_in(call, self._paid_limiter)
        results = await send_each(
            self._paid_slots if paid else self._slots,
            self._paid_width if paid else self._concurrency,
            messages,
            lambda m: self._send_one(limiter, call, m),
        )
        return [_after_follow_up(r) for r in results] if follow_up else results

    async def close(self) -> None:
        await self._limiter.aclose()
        if self._paid_limiter is not None:
            await self._paid_limiter.aclose()

    async def _send_one(self, limiter: RateLimiter, call: _Call, message: Message) -> SendResult:
        delivery_id = message.outbound.delivery_id
        try:
            chat_id = int(message.outbound.value)
        except ValueError:
            return SendResult(delivery_id, Outcome.failed, "not a Telegram chat id")
        try:
            return await self._send_limited(limiter, call, message, chat_id)
        except LimiterUnavailable as exc:
            # Nothing was sent: the message goes back to the queue for a later try.
            return SendResult(delivery_id, Outcome.retry, f"rate limiter: {exc}")

    async def _send_limited(
        self, limiter: RateLimiter, call: _Call, message: Message, chat_id: int
    ) -> SendResult:
        delivery_id = message.outbound.delivery_id
        try:
            send = call(chat_id, message)
        except Exception as exc:  # one recipient never fails the batch
            return _classify(delivery_id, exc)
        for _ in range(self._max_flood_waits + 1):
            paused = await limiter.paused_for()
            if paused > self._max_wait:
                return SendResult(delivery_id, Outcome.retry, "flood wait", None, paused)
            try:
                departure = await limiter.acquire(str(chat_id), self._max_wait)
            except Paused as exc:  # another send's 429 paused the lane meanwhile
                return SendResult(delivery_id, Outcome.retry, "flood wait", None, exc.seconds)
            try:
                sent = await send()
            except TelegramRetryAfter as exc:
                if self._on_retry_after is not None:
                    self._on_retry_after(float(exc.retry_after))
                # Wait exactly retry_after (every sender of this lane waits with us), then
                # go on at the rate the server was found to allow.
                await limiter.throttled(departure, float(exc.retry_after))
                continue
            except Exception as exc:  # one recipient never fails the batch
                await limiter.sent(departure)  # it may have reached the server
                return _classify(delivery_id, exc)
            # Counted from its answer, never before the server counted it (ratelimit).
            await limiter.sent(departure)
            ids = sent if isinstance(sent, list) else [sent]
            return SendResult(delivery_id, Outcome.delivered, provider_id=provider_id(ids))
        paused = await limiter.paused_for()
        return SendResult(delivery_id, Outcome.retry, "flood wait", None, paused or None)

    def _request(self, content: RunContent, paid: bool) -> _Call:
        """The Bot API call for each chat of this batch: what all its messages share is
        worked out once here rather than once per message."""
        options = content.options
        bot = self._bot
        buttons = options.get("buttons")
        answers, answer_run = answer_labels(options), options.get(ANSWER_RUN)
        common: dict[str, Any] = {
            # None leaves a field out of the request: less to encode per message.
            "disable_notification": True if options.get("silent") else None,
            "protect_content": True if options.get("protect") else None,
            "allow_paid_broadcast": True if paid else None,
        }
        media = content.media or {}
        kind = kind_of(media)
        no_preview = options.get("link_preview") is False

        def markup(message: Message) -> InlineKeyboardMarkup | None:
            # Models (keyboard, preview options) are made per message, never shared.
            run = answer_run or message.outbound.run_id
            return _keyboard(message.buttons or buttons, answers, run)

        if kind is MediaKind.album:
            items = list(media["items"])

            def album(chat_id: int, message: Message) -> _Send:
                media = _album_media(items, message.body)
                method = SendMediaGroupForIds(chat_id=chat_id, media=media, **common)

                async def send() -> list[int]:
                    sent = await bot(method)
                    return [one.message_id for one in cast(list[SentId], sent)]

                return send

            return self._pinned(content, album)
        if kind is MediaKind.copy:
            return self._pinned(content, self._copy(media, common, markup))
        # The hot path of a broadcast: a single message's request fields are written
        # directly (``telegram_wire``); aiogram's method is built only to read an error.
        flags = {k: "true" for k, v in common.items() if v}
        shared: dict[int, str | None] = {}  # run id -> the keyboard of messages with none

        def keyboard(message: Message) -> str | None:
            run = answer_run or message.outbound.run_id
            if message.buttons:
                return _markup_json(message.buttons, answers, run)
            if run not in shared:
                shared[run] = _markup_json(buttons, answers, run)
            return shared[run]

        if kind in SINGLE:
            assert kind is not None
            method_type = _SINGLE_METHODS[kind]
            file = {kind.value: str(media["file_id"])}
            caption = kind not in CAPTIONLESS

            def with_media(chat_id: int, message: Message) -> _Send:
                text = {"caption": message.body, "parse_mode": "HTML"} if caption else {}

                def method() -> TelegramMethod[Any]:
                    keys = markup(message)
                    return method_type(
                        chat_id=chat_id, reply_markup=keys, **file, **text, **common
                    )

                fields: dict[str, str | None] = {"chat_id": str(chat_id), **file, **text}
                fields.update(flags, reply_markup=keyboard(message))
                request = Prepared.of(method_type.__api_method__, fields, method)
                return functools.partial(send_for_id, bot, request)

            return self._pinned(content, with_media)

        preview_field = '{"is_disabled": true}' if no_preview else None

        def text(chat_id: int, message: Message) -> _Send:
            def method() -> SendMessageForId:
                preview = LinkPreviewOptions(is_disabled=True) if no_preview else None
                return SendMessageForId(
                    chat_id=chat_id,
                    text=message.body,
                    parse_mode="HTML",
                    link_preview_options=preview,
                    reply_markup=markup(message),
                    **common,
                )

            fields = {
                "chat_id": str(chat_id),
                "text": message.body,
                "parse_mode": "HTML",
                "link_preview_options": preview_field,
                "reply_markup": keyboard(message),
                **flags,
            }
            return functools.partial(send_for_id, bot, Prepared.of("sendMessage", fields, method))

        return self._pinned(content, text)

    def _copy(
        self,
        media: dict[str, Any],
        common: dict[str, Any],
        markup: Callable[[Message], InlineKeyboardMarkup | None],
    ) -> _Call:
        """An exact copy of the manager's post: ``copyMessage``, or ``copyMessages`` for
        an album (which takes neither buttons nor ``allow_paid_broadcast``: such runs go
        through the free lane, see ``lane``)."""
        bot = self._bot
        source, ids = int(media["from_chat_id"]), [int(i) for i in media["message_ids"]]
        if len(ids) > 1:
            flags = {k: v for k, v in common.items() if k != "allow_paid_broadcast"}

            def copies(chat_id: int, message: Message) -> _Send:
                method = CopyMessages(
                    chat_id=chat_id, from_chat_id=source, message_ids=ids, **flags
                )

                async def send() -> list[int]:
                    sent = await bot(method)
                    if not sent:  # copyMessages skips what it can't find: here, everything
                        raise LookupError("message to copy not found")
                    return [one.message_id for one in sent]

                return send

            return copies

        def copy(chat_id: int, message: Message) -> _Send:
            method = CopyMessage(
                chat_id=chat_id,
                from_chat_id=source,
                message_id=ids[0],
                reply_markup=markup(message),
                **common,
            )

            async def send() -> int:
                return (await bot(method)).message_id

            return send

        return copy

    def _pinned(self, content: RunContent, call: _Call) -> _Call:
        """With the pin option, each sent copy is pinned in its chat, silently. The copy is
        delivered whatever becomes of the pin: a pin that fails (a 429 included) is
        logged, never a reason to send the copy again."""
        if not content.options.get(PIN):
            return call
        bot = self._bot

        def pinned(chat_id: int, message: Message) -> _Send:
            send = call(chat_id, message)

            async def send_and_pin() -> int | list[int]:
                sent = await send()
                first = sent[0] if isinstance(sent, list) else sent  # an album: its first
                try:
                    await bot(
                        PinChatMessage(
                            chat_id=chat_id, message_id=first, disable_notification=True
                        )
                    )
                except Exception as exc:
                    log.warning("Copy %s in chat %s not pinned: %s", first, chat_id, exc)
                return sent

            return send_and_pin

        return pinned

    def _follow_up(self, content: RunContent) -> _Call:
        """The Bot API call acting on each chat's delivered copy (``Message.target_id``)."""
        bot = self._bot

        def acting(method: TelegramMethod[Any], target: int) -> _Send:
            async def send() -> int:
                await bot(method)
                return target

            return send

        def delete(chat_id: int, message: Message) -> _Send:
            assert message.target_id is not None
            method: DeleteMessages | DeleteMessage
            if len(message.target_ids) > 1:  # an album: all its messages at once
                method = DeleteMessages(chat_id=chat_id, message_ids=list(message.target_ids))
            else:
                method = DeleteMessage(chat_id=chat_id, message_id=message.target_id)
            return acting(method, message.target_id)

        if content.kind is RunKind.recall:
            return delete
        buttons = content.options.get("buttons")  # kept, or left out: removed
        answers, answer_run = answer_labels(content.options), content.options.get(ANSWER_RUN)
        caption = delivered_caption(content.media)
        album = is_album(content.media)  # no buttons: sendMediaGroup sent none
        no_preview = content.options.get("link_preview") is False

        def edit(chat_id: int, message: Message) -> _Send:
            assert message.target_id is not None
            markup = _keyboard(buttons, answers, answer_run or message.outbound.run_id)
            method: EditMessageCaption | EditMessageText
            if caption:
                method = EditMessageCaption(
                    chat_id=chat_id,
                    message_id=message.target_id,  # an album: its first item's caption
                    caption=message.body,
                    parse_mode="HTML",
                    reply_markup=None if album else markup,
                )
            else:
                method = EditMessageText(
                    chat_id=chat_id,
                    message_id=message.target_id,
                    text=message.body,
                    parse_mode="HTML",
                    link_preview_options=LinkPreviewOptions(is_disabled=True)
                    if no_preview
                    else None,
                    reply_markup=markup,
                )
            return acting(method, message.target_id)

        return edit


def _after_follow_up(result: SendResult) -> SendResult:
    """A follow-up's result: a copy already gone counts as deleted, one already reading
    the new text as edited; a copy out of Telegram's window is kept; an uncertain request
    is tried again (deleting or editing twice changes nothing); nothing refuses the
    address (a blocked bot's copy stays)."""
    error = result.error or ""
    if result.outcome is Outcome.failed and "message to delete not found" in error:
        # Gone already: deleted by the recipient, or by this recall before a crash cut
        # its record (a recall is resumed, and may delete a copy twice).
        return SendResult(result.delivery_id, Outcome.delivered, ALREADY_GONE)
    if result.outcome is Outcome.failed and "message is not modified" in error:
        return SendResult(result.delivery_id, Outcome.delivered, NOT_MODIFIED)
    if result.outcome is Outcome.failed and "message to edit not found" in error:
        return SendResult(result.delivery_id, Outcome.failed, NOT_IN_CHAT)
    if result.outcome is Outcome.failed and "can't be deleted" in error:
        return SendResult(result.delivery_id, Outcome.failed, KEPT)
    if result.outcome is Outcome.failed and error.startswith("uncertain"):
        return SendResult(result.delivery_id, Outcome.retry, error)
    if result.outcome is Outcome.refused:
        return SendResult(result.delivery_id, Outcome.failed, error)
    return result


def _keyboard(
    rows: Any, answers: Sequence[str] = (), run_id: int = 0
) -> InlineKeyboardMarkup | None:
    """URL buttons, then the answer buttons (two a row) pressed back to ``run_id``."""
    if not rows and not answers:
        return None
    keyboard = [
        [InlineKeyboardButton(text=b.text, url=b.url) for b in row] for row in url_buttons(rows)
    ]
    pressed = [
        InlineKeyboardButton(text=label, callback_data=callback_data(run_id, i))
        for i, label in enumerate(answers)
    ]
    keyboard += [pressed[i : i + 2] for i in range(0, len(pressed), 2)]
    return InlineKeyboardMarkup(inline_keyboard=keyboard)


def _markup_json(rows: Any, answers: Sequence[str], run_id: int) -> str | None:
    """``_keyboard`` as the request field aiogram would write for it."""
    keyboard = _keyboard(rows, answers, run_id)
    if keyboard is None:
        return None
    return json.dumps(keyboard.model_dump(exclude_none=True, warnings=False))


def _classify(delivery_id: int, exc: Exception) -> SendResult:
    if isinstance(exc, TelegramForbiddenError):
        return SendResult(delivery_id, Outcome.refused, exc.message)
    if isinstance(exc, TelegramBadRequest):
        return SendResult(delivery_id, Outcome.failed, exc.message)
    if isinstance(exc, TelegramServerError):
        # 5xx: not the recipient's fault, try later (the engine's backoff). The message may
        # have gone out all the same: a later delivery counts as "possibly sent twice".
        return SendResult(delivery_id, Outcome.retry, exc.message, answer_lost=True)
    if isinstance(exc, TelegramUnauthorizedError | TelegramNotFound):
        # The token or the server is misconfigured: nothing was sent; try later.
        return SendResult(delivery_id, Outcome.retry, exc.message)
    if isinstance(exc, TelegramNetworkError):
        # aiogram wraps every aiohttp error; the cause tells whether the request left.
        if isinstance(exc.__cause__, _NOT_SENT):
            return SendResult(delivery_id, Outcome.retry, exc.message)
        if isinstance(exc.__cause__, TimeoutError):
            return SendResult(delivery_id, Outcome.failed, UNCERTAIN)
        return SendResult(delivery_id, Outcome.failed, f"{LOST} ({exc.message})")
    if isinstance(exc, ClientDecodeError):
        return SendResult(delivery_id, Outcome.failed, f"uncertain: unreadable answer ({exc})")
    if isinstance(exc, TelegramAPIError):
        return SendResult(delivery_id, Outcome.failed, exc.message)
    return SendResult(delivery_id, Outcome.failed, f"{type(exc).__name__}: {exc}")
