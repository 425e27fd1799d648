"""In-process fake of the Telegram Bot API for tests.

The real aiogram ``Bot`` talks to it over HTTP::

    async with FakeBotAPI() as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot("123456:TEST-TOKEN", session=session)
        api.send_text(42, "/start")              # queue a user update
        msg = await api.wait_for_message(42, contains="Welcome")
        api.press(42, "Settings")                # press an inline button

State, recording and waiting live in ``bot_api_state``, simulated users in
``bot_api_users``, the Bot API methods in ``bot_api_methods``, data classes and
HTML/markup validation in ``bot_api_model``, webhook mode (updates POSTed to the bot
after ``setWebhook``) in ``bot_api_webhook``. This module adds the HTTP server and the
request pipeline (faults -> chat checks -> rate limit -> method).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, hdrs, web

from tests.fakes.bot_api_limits import COUNTED_LIKE_SENDS
from tests.fakes.bot_api_media import MediaMethods
from tests.fakes.bot_api_methods import OK_METHODS, Files, Params
from tests.fakes.bot_api_model import (
    SEND_METHODS,
    TOKEN_RE,
    ApiError,
    SentMessage,
    StoredFile,
    Upload,
    parse_bool,
)
from tests.fakes.bot_api_webhook import WebhookCall, WebhookPusher

__all__ = ["ApiError", "FakeBotAPI", "SentMessage", "StoredFile", "WebhookCall"]


class FakeBotAPI(MediaMethods):
    """A fake Telegram Bot API server bound to 127.0.0.1 on a free port."""

    def __init__(
        self,
        *,
        bot_username: str = "mailforge_test_bot",
        bot_first_name: str = "MailForge Test Bot",
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(bot_username=bot_username, bot_first_name=bot_first_name)
        self.host = host
        self.revoked_tokens: set[str] = set()  # answered 401, like a token revoked in @BotFather
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self.webhook_pusher = WebhookPusher(self)

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._closing = False
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.webhook_pusher.start()

    async def stop(self) -> None:
        self._closing = True
        self._updates_event.set()
        self._wake(self._hung)
        for release in self._held.values():
            release.set()
        await self.webhook_pusher.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ webhook mode
    @property
    def webhook_calls(self) -> list[WebhookCall]:
        """Every POST of an update to the bot's webhook, with the HTTP status it got."""
        return list(self.webhook_pusher.calls)

    def m_getwebhookinfo(self, p: Params, f: Files) -> Any:
        info = super().m_getwebhookinfo(p, f)
        if self.webhook is not None and self.webhook_pusher.last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_pusher.last_error
        return info

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        match = TOKEN_RE.match(token)
        if match is None or token in self.revoked_tokens:
            return _json(ApiError(401, "Unauthorized").payload(), 401)
        self.bot_id = int(match.group(1))
        params, files = await _read_params(request)
        self.requests.append((method, params))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer and method.lower() in SEND_METHODS:
            self.send_ports[int(peer[1])] += 1
        try:
            result = await self._call(method, params, files)
        except ApiError as error:
            return _json(error.payload(), error.error_code)
        return _json({"ok": True, "result": result}, 200)

    async def _call(self, method: str, params: Params, files: Files) -> Any:
        lowered = method.lower()
        if self._hang[lowered] > 0:
            self._hang[lowered] -= 1
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hung.append(waiter)
            await waiter
            raise ApiError(502, "Bad Gateway")
        is_send = lowered in SEND_METHODS or lowered in COUNTED_LIKE_SENDS
        if is_send and self.delay > 0:
            await asyncio.sleep(self.delay)
        chat_id = _maybe_int(params.get("chat_id"))
        await self._wait_if_held(lowered, chat_id)
        self._check_faults(lowered, chat_id)
        self._check_recipient(lowered, chat_id)
        now = time.monotonic()
        paid = parse_bool(params.get("allow_paid_broadcast"))
        is_edit = lowered.startswith("edit")
        if is_send:
            self._check_rate(chat_id, now, paid)
        elif is_edit:
            self._check_edit(chat_id, now)
        handler = getattr(self, f"m_{lowered}", None)
        if handler is not None:
            result = handler(params, files)
            if inspect.isawaitable(result):
                result = await result
        elif lowered in OK_METHODS:
            result = self.ok_method(params)
        else:
            self.unknown_methods.append(method)
            raise ApiError(404, "Not Found: method not found")
        if is_send:
            self._accept_send(chat_id, now, paid)
        elif is_edit:
            self._accept_edit(chat_id, now)
        self._count_ok(lowered, chat_id)
        self._check_lost_answer(lowered, chat_id)  # done, but the answer is lost on the way
        return result

    async def _download(self, request: web.Request) -> web.Response:
        if TOKEN_RE.match(request.match_info["token"]) is None:
            return web.Response(status=401, text="Unauthorized")
        stored = self.file_by_path(request.match_info["path"])
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )


async def _read_params(request: web.Request) -> tuple[Params, Files]:
    """Decode urlencoded, multipart or JSON bodies (plus query string) into strings."""
    params: Params = dict(request.query)
    files: Files = {}
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                content = bytes(await part.read())
                ctype = part.headers.get(hdrs.CONTENT_TYPE)
                files[part.name] = Upload(part.filename, content, ctype)
            else:
                params[part.name] = await part.text()
    elif request.content_type == "application/json":
        body = await request.json()
        for key, value in (body or {}).items():
            params[key] = value if isinstance(value, str) else json.dumps(value)
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            params[key] = value if isinstance(value, str) else str(value)
    return params, files


def _maybe_int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _json(payload: dict[str, Any], status: int) -> web.Response:
    return web.Response(text=json.dumps(payload), status=status, content_type="application/json")
