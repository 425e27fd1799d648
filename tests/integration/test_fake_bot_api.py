"""The fake Bot API server, exercised with the real aiogram ``Bot`` over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import aiohttp.web
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fakes.bot_api import FakeBotAPI

pytestmark = pytest.mark.asyncio

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
USER = 42
PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x40\x00\x00\x00\xf0"
    b"\x08\x02\x00\x00\x00\x00\x00\x00\x00"
)


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


async def test_get_me_returns_bot_identity_from_token(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot is True
    assert me.username == "mailforge_test_bot"
    assert api.base_url.startswith("http://127.0.0.1:")
    assert api.port not in (None, 0)
    assert api.requests[0][0].lower() == "getme"


async def test_custom_username_and_unknown_method_404(api: FakeBotAPI) -> None:
    async with FakeBotAPI(bot_username="other_bot") as other:
        session = AiohttpSession(api=TelegramAPIServer.from_base(other.base_url))
        bot = Bot("777:XYZ", session=session)
        try:
            me = await bot.get_me()
        finally:
            await bot.session.close()
        assert (me.id, me.username) == (777, "other_bot")

        async with aiohttp.ClientSession() as http:
            url = f"{other.base_url}/bot777:XYZ/doSomethingWeird"
            async with http.post(url, data={"x": "1"}) as resp:
                body = await resp.json()
                status = resp.status
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    assert other.unknown_methods == ["doSomethingWeird"]
    assert other.requests[-1] == ("doSomethingWeird", {"x": "1"})


async def test_keyboard_press_arrives_as_callback_query(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "Confirm?", reply_markup=keyboard([("Yes", "confirm:yes"), ("No", "confirm:no")])
    )
    recorded = api.last_message(USER)
    assert recorded is not None
    assert recorded.message_id == sent.message_id
    assert recorded.buttons == ["Yes", "No"]
    assert recorded.button_rows == [["Yes", "No"]]
    assert recorded.callback_data("No") == "confirm:no"

    query = api.press(USER, "Yes")
    updates = await bot.get_updates(timeout=1)

    assert len(updates) == 1
    callback = updates[0].callback_query
    assert callback is not None
    assert callback.id == query["id"]
    assert callback.data == "confirm:yes"
    assert callback.from_user.id == USER
    assert callback.message is not None
    assert callback.message.message_id == sent.message_id

    assert await bot.answer_callback_query(callback.id, text="Done", show_alert=True)
    answer = await api.wait_for_callback_answer(callback.id, timeout=1)
    assert answer == {
        "callback_query_id": callback.id,
        "text": "Done",
        "show_alert": True,
        "url": None,
        "cache_time": 0,
    }
    assert api.unanswered_callbacks() == set()
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(callback.id)

    # offset confirms the update: it is not delivered again
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == []
    assert api.pending_updates == 0


async def test_press_partial_text_forged_data_and_missing_button(
    api: FakeBotAPI, bot: Bot
) -> None:
    await bot.send_message(USER, "old", reply_markup=keyboard([("Delete list", "del:1")]))
    newest = await bot.send_message(USER, "new", reply_markup=keyboard([("Edit", "edit:1")]))

    older = api.press(USER, "Delete")  # substring match, found in the older message
    forged = api.press_data(USER, "del:999", newest.message_id)
    with pytest.raises(AssertionError, match="no button 'Publish'") as info:
        api.press(USER, "Publish")

    assert older["data"] == "del:1"
    assert forged["data"] == "del:999"
    assert forged["message"]["message_id"] == newest.message_id
    assert "['Edit']" in str(info.value)
    updates = await bot.get_updates(timeout=1)
    assert [u.callback_query.data for u in updates if u.callback_query] == ["del:1", "del:999"]


async def test_edit_text_records_history_and_rejects_identical_edit(
    api: FakeBotAPI, bot: Bot
) -> None:
    markup = keyboard([("Refresh", "refresh")])
    sent = await bot.send_message(USER, "Progress: 10%", reply_markup=markup)

    edited = await bot.edit_message_text(
        "Progress: <b>50%</b>",
        chat_id=USER,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=markup,
    )

    assert not isinstance(edited, bool)
    assert edited.text == "Progress: 50%"
    assert edited.edit_date is not None
    msg = api.messages(USER)[0]
    assert (msg.text, msg.raw_text, msg.edits) == ("Progress: 50%", "Progress: <b>50%</b>", 1)
    assert msg.history == ["Progress: 10%"]
    assert msg.entities == [{"type": "bold", "offset": 10, "length": 3}]

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Progress: <b>50%</b>",
            chat_id=USER,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    # editing without reply_markup removes the inline keyboard, as Telegram does
    await bot.edit_message_text("Finished", chat_id=USER, message_id=sent.message_id)
    assert (msg.text, msg.buttons, msg.edits) == ("Finished", [], 2)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=markup
    )
    assert msg.buttons == ["Refresh"]

    assert await bot.delete_message(USER, sent.message_id)
    assert msg.deleted
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("again", chat_id=USER, message_id=sent.message_id)


async def test_documents_upload_resend_by_id_and_user_download(api: FakeBotAPI, bot: Bot) -> None:
    csv = b"email,name\na@example.com,A\n"
    first = await bot.send_document(
        USER, BufferedInputFile(csv, filename="report.csv"), caption="Report"
    )
    assert first.document is not None
    file_id = first.document.file_id
    assert first.document.file_name == "report.csv"
    assert first.document.file_size == len(csv)

    second = await bot.send_document(USER, file_id)
    assert second.document is not None
    assert second.document.file_id == file_id

    docs = api.sent_documents(USER)
    assert [d.file_bytes for d in docs] == [csv, csv]
    assert (docs[0].filename, docs[0].caption, docs[1].caption) == ("report.csv", "Report", None)
    assert docs[0].options["document"].startswith("attach://")
    assert docs[1].options["document"] == file_id

    content = b"x" * 70_000
    api.send_document(USER, "contacts.xlsx", content, caption="import")
    updates = await bot.get_updates(timeout=1)
    document = updates[0].message.document if updates[0].message else None
    assert document is not None
    assert (document.file_name, document.file_size) == ("contacts.xlsx", len(content))
    downloaded = await bot.download(document)
    assert downloaded is not None
    assert downloaded.read() == content

    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(USER, "no-such-file-id")


async def test_photo_upload_copy_and_forward(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_photo(
        USER,
        BufferedInputFile(PNG_1x1, filename="chart.png"),
        caption="<i>Chart</i>",
        parse_mode="HTML",
    )
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (320, 240)
    assert sent.caption == "Chart"

    copied = await bot.copy_message(chat_id=7, from_chat_id=USER, message_id=sent.message_id)
    user_msg = api.send_text(USER, "forward me")
    forwarded = await bot.forward_message(7, USER, user_msg["message_id"])

    in_target = api.messages(7)
    assert [m.kind for m in in_target] == ["photo", "text"]
    assert in_target[0].message_id == copied.message_id
    assert in_target[0].file_bytes == PNG_1x1
    assert in_target[0].source == (USER, sent.message_id)
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.id == USER  # type: ignore[union-attr]
    assert in_target[1].text == "forward me"
    assert in_target[1].forwarded


async def test_user_forward_photo_and_member_updates(api: FakeBotAPI, bot: Bot) -> None:
    api.forward_from(USER, 999, "hello from elsewhere", original_username="orig", username="me")
    api.send_photo(USER, PNG_1x1, caption="pic")
    api.chat_member_update(USER, new_status="kicked")

    updates = await bot.get_updates(timeout=1)

    forward, photo, member = (u for u in updates)
    assert forward.message is not None
    origin = forward.message.forward_origin
    assert origin is not None
    assert origin.type == "user"
    assert origin.sender_user.id == 999  # type: ignore[union-attr]
    assert forward.message.forward_from is not None
    assert forward.message.from_user is not None
    assert forward.message.from_user.username == "me"
    assert photo.message is not None
    assert photo.message.photo is not None
    assert photo.message.caption == "pic"
    file = await bot.get_file(photo.message.photo[-1].file_id)
    assert file.file_size == len(PNG_1x1)
    assert member.my_chat_member is not None
    assert member.my_chat_member.new_chat_member.status == "kicked"
    assert member.my_chat_member.new_chat_member.user.id == 123456
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "still there?")


async def test_rate_limit_answers_429_with_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.set_rate_limit(3, retry_after=7)
    for i in range(3):
        await bot.send_message(USER, f"msg {i}")

    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(USER, "one too many")

    assert info.value.retry_after == 7
    assert "retry after 7" in info.value.message
    assert api.sent_count("sendMessage") == 3
    assert api.request_count("sendMessage") == 4
    assert len(api.send_times) == 3
    await asyncio.sleep(1.05)  # the sliding window has moved on
    await bot.send_message(USER, "later")
    assert api.sent_count() == 4


async def test_fail_next_injects_errors_once(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=2, chat_id=USER)
    await bot.send_message(7, "other chat is unaffected by the chat-specific rule")
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(USER, "x")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "x")

    assert info.value.retry_after == 2
    assert [m.text for m in api.messages(USER)] == ["x"]


async def test_blocked_deactivated_and_missing_chats(api: FakeBotAPI, bot: Bot) -> None:
    api.block(1)
    api.deactivate(2)
    api.forget_chat(3)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1, "hi")
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_document(2, BufferedInputFile(b"1", filename="a.txt"))
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(3, "hi")
    await bot.send_message(4, "hi")

    assert api.messages(1) == api.messages(2) == api.messages(3) == []
    assert api.sent_count("sendMessage") == 1


async def test_text_validation_like_telegram(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "Reply to <ops@example.com>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(PNG_1x1, "p.png"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "k", reply_markup=keyboard([("A", "d" * 65)]))

    # 4096 visible characters are fine even though the HTML source is longer
    ok = await bot.send_message(USER, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert ok.text == "y" * 4096
    escaped = await bot.send_message(USER, "a &lt; b &amp; c", parse_mode="HTML")
    assert escaped.text == "a < b & c"
    assert [m.text for m in api.messages(USER)] == ["y" * 4096, "a < b & c"]


async def test_commands_per_scope(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="Start"),
            BotCommand(command="help", description="Help"),
        ],
        scope=BotCommandScopeAllPrivateChats(),
    )
    admin_scope = BotCommandScopeChat(chat_id=USER)
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="Start"),
            BotCommand(command="admin", description="Admin panel"),
        ],
        scope=admin_scope,
    )

    assert api.commands_for(USER) == ["start", "admin"]
    assert api.commands_for(7) == ["start", "help"]
    assert api.commands[("chat", USER)][1]["command"] == "admin"
    assert [c.command for c in await bot.get_my_commands(scope=admin_scope)] == ["start", "admin"]

    await bot.delete_my_commands(scope=admin_scope)
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert api.commands_for(USER) == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_long_poll_waits_and_returns_as_soon_as_update_is_queued(
    api: FakeBotAPI, bot: Bot
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 2.0

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    api.send_text(USER, "/start ref42", first_name="Ann", language_code="de")
    updates = await asyncio.wait_for(poll, 2)

    assert time.monotonic() - started < 1.0  # far below the 10 s poll timeout
    message = updates[0].message
    assert message is not None
    assert message.text == "/start ref42"
    assert message.from_user is not None
    assert (message.from_user.first_name, message.from_user.language_code) == ("Ann", "de")
    assert message.entities is not None
    assert (message.entities[0].type, message.entities[0].length) == ("bot_command", 6)
    assert message.chat.id == USER


async def test_wait_for_message_since_mark_and_timeout(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "Main menu")
    mark = api.mark(USER)

    async def later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(USER, "Working...")
        await bot.send_message(USER, "Main menu")

    task = asyncio.create_task(later())
    fresh = await api.wait_for_message(USER, contains="Main menu", since=mark, timeout=2)
    await task

    assert fresh.message_id == 3
    existing = await api.wait_for_message(USER, predicate=lambda m: m.text == "Working...")
    assert existing.message_id == 2
    with pytest.raises(AssertionError, match="Working"):
        await api.wait_for_message(USER, contains="Goodbye", timeout=0.2)


async def test_hang_next_and_delay(api: FakeBotAPI, bot: Bot) -> None:
    api.hang_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "lost", request_timeout=1)
    api.delay = 0.2
    started = time.monotonic()
    await bot.send_message(USER, "slow")
    assert time.monotonic() - started >= 0.2
    assert [m.text for m in api.messages(USER)] == ["slow"]


async def test_many_concurrent_sends_are_recorded_in_order(api: FakeBotAPI, bot: Bot) -> None:
    chats = range(1000, 1020)
    await asyncio.gather(*(bot.send_message(chat, f"n{i}") for chat in chats for i in range(25)))
    assert api.sent_count("sendMessage") == 500
    for chat in chats:
        messages = api.messages(chat)
        assert [m.message_id for m in messages] == list(range(1, 26))
    assert api.sent_count("sendMessage", chat_id=1000) == 25


async def test_dispatcher_polling_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            f"Hi, <b>{message.from_user.first_name if message.from_user else '?'}</b>",
            parse_mode="HTML",
            reply_markup=keyboard([("Campaigns", "menu:campaigns")]),
        )

    @router.callback_query(F.data == "menu:campaigns")
    async def campaigns(query: CallbackQuery) -> None:
        if isinstance(query.message, Message):
            await query.message.edit_text("No campaigns yet")
        await query.answer("Opened")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        api.send_text(USER, "/start", first_name="Ann")
        menu = await api.wait_for_message(USER, contains="Hi, Ann")
        assert menu.raw_text == "Hi, <b>Ann</b>"
        assert menu.buttons == ["Campaigns"]

        mark = api.mark(USER)
        query = api.press(USER, "Campaigns")
        edited = await api.wait_for_message(USER, since=mark)
        answer = await api.wait_for_callback_answer(query["id"])
    finally:
        await dp.stop_polling()
        await polling

    assert edited.message_id == menu.message_id
    assert (edited.text, edited.edits, edited.buttons) == ("No campaigns yet", 1, [])
    assert answer["text"] == "Opened"
    # the dispatcher asks only for the update types its handlers use, as a JSON string
    polls = api.calls("getUpdates")
    assert set(json.loads(polls[0]["allowed_updates"])) == {"message", "callback_query"}
    assert polls[0]["timeout"] == "1"


async def test_webhook_mode_posts_updates_with_the_secret_until_deleted(
    api: FakeBotAPI, bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return aiohttp.web.Response(status=401 if len(received) == 2 else 200)

    app = aiohttp.web.Application()
    app.router.add_post("/tg", hook)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        first = api.send_text(USER, "before the webhook")
        url = f"http://127.0.0.1:{port}/tg"
        assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        assert (await api.webhook_pusher.wait_for_calls(1))[-1].status == 200
        second = api.send_text(USER, "refused by the bot")
        assert (await api.webhook_pusher.wait_for_calls(2))[-1].status == 401
        info = await bot.get_webhook_info()
        assert info.url == url and "401" in (info.last_error_message or "")
        assert await bot.delete_webhook()
        api.send_text(USER, "polled again")
        polled = await bot.get_updates(timeout=1)
    finally:
        await runner.cleanup()
    assert received == [
        ("s3cret", {"update_id": 1, "message": first}),
        ("s3cret", {"update_id": 2, "message": second}),
    ]
    assert [u.message.text for u in polled if u.message] == ["polled again"]
    assert [(c.update_id, c.status) for c in api.webhook_calls] == [(1, 200), (2, 401)]
