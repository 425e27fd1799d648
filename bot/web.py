"""The bot's one web server: uvicorn in the bot's event loop, one ASGI application for
every route — one-click unsubscribe, the open pixel and click redirect
(``bot.tracking``), ``/healthz`` and ``/metrics`` (``bot.probes``), Telegram's webhook
(``bot.updates``) and the HTTP API (``bot.api``, when it is on).

``Site`` collects the routes and builds the application. The pixel and the redirect are
raw ASGI handlers ahead of any router (the hottest paths: a 302 on uvicorn this way
answered more requests/s than the same 302 on aiohttp, see ``bench/redirect.py``); the
API keeps its own FastAPI app (problem+json, its 10 MB body cap); the other routes are
Starlette routes. Bodies are capped per route before they are read: the Telegram
webhook takes ``TELEGRAM_UPDATE_MAX_BYTES`` (a message with hundreds of links and its
entities easily passes 64 KB), every other public route ``PUBLIC_MAX_BYTES``.

``GET /unsubscribe/{token}`` shows a confirmation page (mail scanners prefetch links, so
a GET never unsubscribes); ``POST`` unsubscribes, both from that page and as RFC 8058
one-click (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``). A forged or altered
token gets 400 and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import logging
import socket
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field

import uvicorn
from aiogram.utils.i18n import I18n
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.server import logger as uvicorn_log

from bot.settings import ConfigError
from domain.ports.uow import UnitOfWorkFactory
from domain.unsubscribe import make_token, read_token
from domain.usecases import subscribers
from handlers.i18n import choose_locale, translate

log = logging.getLogger(__name__)
UNSUBSCRIBE_PATH = "/unsubscribe/{token}"
PUBLIC_MAX_BYTES = 64 * 1024
TELEGRAM_UPDATE_MAX_BYTES = 2 * 1024 * 1024
API_PREFIXES = ("/api/", "/docs", "/openapi.json")
STOP_GRACE_SECONDS = 10

Endpoint = Callable[[Request], Awaitable[Response]]
# A raw ASGI handler of a hot path; it gets what follows the path's prefix.
FastHandler = Callable[[str, Scope, Receive, Send], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>{title}</h1>{body}</body></html>"""


def unsubscribe_url(base_url: str, secret: bytes, address_id: int) -> str:
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=make_token(secret, address_id))


@dataclass
class Site:
    """What the web server serves, and what must run while it does."""

    routes: list[Route] = field(default_factory=list)
    fast: dict[str, FastHandler] = field(default_factory=dict)  # GET prefix → handler
    body_caps: dict[str, int] = field(default_factory=dict)  # path → largest body
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    api: ASGIApp | None = None  # /api/…, /docs, /openapi.json

    def add(
        self, path: str, endpoint: Endpoint, methods: list[str], *, max_body: int | None = None
    ) -> None:
        self.routes.append(Route(path, endpoint, methods=methods))
        if max_body is not None:
            self.body_caps[path] = max_body

    def build(self) -> ASGIApp:
        public = BodyCap(Starlette(routes=self.routes), self.body_caps, PUBLIC_MAX_BYTES)
        return Front(public, self.api, dict(self.fast))


class Front:
    """Routes by path prefix: hot paths straight to their handler, the API to its app,
    the rest to the public routes."""

    def __init__(self, public: ASGIApp, api: ASGIApp | None, fast: dict[str, FastHandler]):
        self.public, self.api, self.fast = public, api, tuple(fast.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if scope["method"] in ("GET", "HEAD"):
                for prefix, handler in self.fast:
                    if path.startswith(prefix):
                        await handler(path[len(prefix) :], scope, receive, send)
                        return
            if self.api is not None and path.startswith(API_PREFIXES):
                await self.api(scope, receive, send)
                return
        elif scope["type"] == "lifespan":
            return
        await self.public(scope, receive, send)


class _TooLarge(Exception):
    pass


class BodyCap:
    """A 413 for a body over its route's cap, before the route reads it: at once when
    ``Content-Length`` says so, else as soon as the streamed bytes pass the cap."""

    def __init__(self, app: ASGIApp, caps: dict[str, int], default: int) -> None:
        self.app, self.caps, self.default = app, caps, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _TooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await _too_large(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("Request body too large", status_code=413)
    await response(scope, receive, send)


class WebApp:
    """The unsubscribe pages."""

    def __init__(self, uow_factory: UnitOfWorkFactory, i18n: I18n, secret: bytes) -> None:
        self.uow_factory = uow_factory
        self.i18n = i18n
        self.secret = secret

    def install(self, site: Site) -> None:
        site.add(UNSUBSCRIBE_PATH, self.confirm_page, ["GET"])
        site.add(UNSUBSCRIBE_PATH, self.unsubscribe, ["POST"])

    async def confirm_page(self, request: Request) -> Response:
        locale = self._locale(request)
        address = await self._address(request)
        if isinstance(address, Response):
            return address
        if address is None:
            return self._page(locale, "web-unsubscribe-invalid", status=400)
        button = html.escape(self._t(locale, "web-unsubscribe-button"))
        form = f'<form method="post"><button type="submit">{button}</button></form>'
        return self._page(locale, "web-unsubscribe-confirm", extra=form, address=address[1])

    async def unsubscribe(self, request: Request) -> Response:
        locale = self._locale(request)
        found = await self._address(request)
        if isinstance(found, Response):
            return found
        if found is None:
            return self._page(locale, "web-unsubscribe-invalid", status=400)
        address_id, value = found
        await subscribers.unsubscribe_address(self.uow_factory, address_id)
        log.info("Address %s unsubscribed by link", address_id)
        return self._page(locale, "web-unsubscribe-done", address=value)

    async def _address(self, request: Request) -> tuple[int, str] | Response | None:
        address_id = read_token(self.secret, request.path_params["token"])
        if address_id is None:
            return None
        async with self.uow_factory() as uow:
            address = await uow.addresses.get(address_id)
        if address is None:
            return PlainTextResponse("unknown address", status_code=400)
        return address_id, address.value

    def _locale(self, request: Request) -> str:
        header = request.headers.get("Accept-Language", "")
        return choose_locale(header.split(",")[0].strip() or None, self.i18n.available_locales)

    def _t(self, locale: str, key: str, **params: str) -> str:
        return translate(self.i18n, key, locale, params)

    def _page(
        self, locale: str, key: str, *, status: int = 200, extra: str = "", **params: str
    ) -> Response:
        safe = {k: html.escape(v) for k, v in params.items()}
        title = html.escape(self._t(locale, "web-unsubscribe-title"))
        body = f"<p>{self._t(locale, key, **safe)}</p>{extra}"
        return HTMLResponse(PAGE.format(lang=locale, title=title, body=body), status_code=status)


class _Server(uvicorn.Server):
    """uvicorn's server, but SIGINT/SIGTERM stay the bot's, and a stop takes no fixed
    naps: uvicorn looks at ``should_exit`` every 0.1 s, then gives open connections 0.1 s
    to close even when there are none (~0.15 s per stop, in every test's bot too)."""

    _nap: asyncio.Future[None] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the bot's own handlers stay in charge of SIGINT/SIGTERM

    def exit_now(self) -> None:
        """``should_exit``, seen at once rather than at the next tick."""
        self.should_exit = True
        if self._nap is not None and not self._nap.done():
            self._nap.set_result(None)

    async def main_loop(self) -> None:
        """uvicorn's loop (a tick every 0.1 s: the date header, the request limit), with
        a nap that ``exit_now`` ends."""
        loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            self._nap = nap = loop.create_future()
            timer = loop.call_later(0.1, _wake, nap)
            try:
                await nap
            finally:
                timer.cancel()
                self._nap = None
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections:  # uvicorn's, with its nap for them to close
            await super().shutdown(sockets)
            return
        # The same steps without the nap: no connection to close, and none can come.
        uvicorn_log.info("Shutting down")
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await self._wait_tasks_to_complete()
        except TimeoutError:
            uvicorn_log.error(
                "Cancel %s running task(s), timeout graceful shutdown exceeded",
                len(self.server_state.tasks),
            )
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


def _wake(nap: asyncio.Future[None]) -> None:
    if not nap.done():
        nap.set_result(None)


class WebServer:
    """Serves a ``Site`` on ``host:port`` (port 0: any free port, read back) and on any
    ``extra`` addresses (``API_PORT``: the same server, another port).

    A port that cannot be taken stops start-up with a ``ConfigError`` naming its setting.
    ``stop`` lets the requests in flight finish (at most ``STOP_GRACE_SECONDS``).
    """

    def __init__(
        self, site: Site, host: str, port: int, extra: list[tuple[str, int]] | None = None
    ) -> None:
        self.site = site
        self.app = site.build()
        self.host, self.port = host, port
        self.extra = list(extra or [])
        self.extra_ports: list[int] = []
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set once ``port`` is the real one

    async def start(self) -> None:
        sockets = [_bind(self.host, self.port, "WEB_PORT")]
        try:
            sockets += [_bind(host, port, "API_PORT") for host, port in self.extra]
        except ConfigError:
            sockets[0].close()
            raise
        self.port = sockets[0].getsockname()[1]
        self.extra_ports = [sock.getsockname()[1] for sock in sockets[1:]]
        for hook in self.site.on_start:
            await hook()
        config = uvicorn.Config(
            self.app,
            loop="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=STOP_GRACE_SECONDS,
        )
        self._server = server = _Server(config)
        self._task = asyncio.create_task(server.serve(sockets=sockets))
        while not server.started:
            if self._task.done():
                await self._task  # start-up failed: raise its error
                raise ConfigError("WEB_PORT: the web server stopped at start")
            await asyncio.sleep(0.01)
        self.listening.set()
        log.info("Web server listens on %s:%s", self.host, self.port)
        for (host, _), port in zip(self.extra, self.extra_ports, strict=True):
            log.info("Web server listens on %s:%s too (API_PORT)", host, port)

    async def stop(self) -> None:
        self.listening.clear()
        if self._server is None or self._task is None:
            return
        self._server.exit_now()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None
        for hook in self.site.on_stop:
            await hook()


def _bind(host: str, port: int, setting: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
    # says TCP, and accepted connections inherit it. With proto 0 every answer on a kept-alive
    # connection after the first waited ~40 ms for the client's delayed ACK (bench/api.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # taken now: a second process on this port fails here
    except OSError as exc:
        sock.close()
        raise ConfigError(_bind_problem(setting, host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def _bind_problem(setting: str, host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{setting}: {host}:{port} is already in use (another MailForge process? "
            f"give each process its own {setting}, or 0 for any free port)"
        )
    return f"{setting}: cannot listen on {host}:{port} ({exc.strerror or exc})"
