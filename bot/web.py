"""The bot's web server (aiohttp, same process): one-click unsubscribe for emails.

The same server carries ``/healthz`` and ``/metrics`` (``bot.probes``) and, in webhook
mode, Telegram's updates (``bot.updates``).

``GET /unsubscribe/{token}`` shows a confirmation page (mail scanners prefetch links, so
a GET never unsubscribes); ``POST`` unsubscribes, both from that page and as RFC 8058
one-click (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``). A forged or altered
token gets 400 and changes nothing.
"""

from __future__ import annotations

import asyncio
import errno
import html
import logging
from collections.abc import Awaitable, Callable

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.settings import ConfigError
from domain.ports import UnitOfWorkFactory
from domain.unsubscribe import make_token, read_token
from domain.usecases import subscribers
from handlers.i18n import choose_locale, translate

log = logging.getLogger(__name__)
UNSUBSCRIBE_PATH = "/unsubscribe/{token}"
PUBLIC_MAX_BYTES = 64 * 1024
TELEGRAM_UPDATE_MAX_BYTES = 2 * 1024 * 1024
LARGE_BODY_PATHS = web.AppKey("large_body_paths", set[str])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>{title}</h1>{body}</body></html>"""


def unsubscribe_url(base_url: str, secret: bytes, address_id: int) -> str:
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=make_token(secret, address_id))


@web.middleware
async def small_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body over ``PUBLIC_MAX_BYTES`` is refused (413) before it is read, but on the
    paths that take more (Telegram's webhook: ``TELEGRAM_UPDATE_MAX_BYTES``, the
    application's own cap). A message with hundreds of links and their entities easily
    passes 64 KB; nothing else here takes a body that size."""
    declared = request.content_length
    large = request.path in request.app.get(LARGE_BODY_PATHS, ())
    if declared is not None and declared > PUBLIC_MAX_BYTES and not large:
        raise web.HTTPRequestEntityTooLarge(PUBLIC_MAX_BYTES, declared)
    return await handler(request)


class WebApp:
    def __init__(self, uow_factory: UnitOfWorkFactory, i18n: I18n, secret: bytes) -> None:
        self.uow_factory = uow_factory
        self.i18n = i18n
        self.secret = secret

    def build(self) -> web.Application:
        app = web.Application(
            client_max_size=TELEGRAM_UPDATE_MAX_BYTES, middlewares=[small_bodies]
        )
        app[LARGE_BODY_PATHS] = set()
        app.router.add_get(UNSUBSCRIBE_PATH, self.confirm_page)
        app.router.add_post(UNSUBSCRIBE_PATH, self.unsubscribe)
        return app

    async def confirm_page(self, request: web.Request) -> web.Response:
        locale = self._locale(request)
        address = await self._address(request)
        if address is None:
            return self._page(locale, "web-unsubscribe-invalid", status=400)
        button = html.escape(self._t(locale, "web-unsubscribe-button"))
        form = f'<form method="post"><button type="submit">{button}</button></form>'
        return self._page(locale, "web-unsubscribe-confirm", extra=form, address=address[1])

    async def unsubscribe(self, request: web.Request) -> web.Response:
        locale = self._locale(request)
        found = await self._address(request)
        if found is None:
            return self._page(locale, "web-unsubscribe-invalid", status=400)
        address_id, value = found
        await subscribers.unsubscribe_address(self.uow_factory, address_id)
        log.info("Address %s unsubscribed by link", address_id)
        return self._page(locale, "web-unsubscribe-done", address=value)

    async def _address(self, request: web.Request) -> tuple[int, str] | None:
        address_id = read_token(self.secret, request.match_info["token"])
        if address_id is None:
            return None
        async with self.uow_factory() as uow:
            address = await uow.addresses.get(address_id)
        if address is None:
            raise web.HTTPBadRequest(text="unknown address")
        return address_id, address.value

    def _locale(self, request: web.Request) -> str:
        header = request.headers.get("Accept-Language", "")
        return choose_locale(header.split(",")[0].strip() or None, self.i18n.available_locales)

    def _t(self, locale: str, key: str, **params: str) -> str:
        return translate(self.i18n, key, locale, params)

    def _page(
        self, locale: str, key: str, *, status: int = 200, extra: str = "", **params: str
    ) -> web.Response:
        safe = {k: html.escape(v) for k, v in params.items()}
        title = html.escape(self._t(locale, "web-unsubscribe-title"))
        body = f"<p>{self._t(locale, key, **safe)}</p>{extra}"
        text = PAGE.format(lang=locale, title=title, body=body)
        return web.Response(text=text, status=status, content_type="text/html")


class WebServer:
    """Runs an aiohttp application on ``host:port`` (port 0: any free port, read back).

    A port that cannot be taken stops start-up with a ``ConfigError`` naming ``WEB_PORT``.
    """

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self._runner = web.AppRunner(app, access_log=None)
        self._started = False
        self.host, self.port = host, port
        self.listening = asyncio.Event()  # set once ``port`` is the real one

    async def start(self) -> None:
        await self._runner.setup()
        self._started = True
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise ConfigError(_bind_problem(self.host, self.port, exc)) from None
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self.listening.set()
        log.info("Web server listens on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        self.listening.clear()
        if self._started:
            self._started = False
            await self._runner.cleanup()


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"WEB_PORT: {host}:{port} is already in use (another MailForge process? "
            "give each process its own WEB_PORT, or 0 for any free port)"
        )
    return f"WEB_PORT: cannot listen on {host}:{port} ({exc.strerror or exc})"
