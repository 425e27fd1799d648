"""A small file server on 127.0.0.1 for the link fetcher's tests::

    async with FileServer() as files:
        files.url("/list.csv")            # http://127.0.0.1:<port>/list.csv
        files.requests                     # [(path, Host header), …] in arrival order

Routes: ``/list.csv`` (CSV: ``csv_body``), ``/table.xlsx`` (a real XLSX), ``/export``
(XLSX without a name), ``/download`` (CSV named by an RFC 2231 Content-Disposition),
``/`` (CSV, no name), ``/login`` (an HTML login page), ``/sneaky.csv`` (HTML under a CSV type),
``/huge`` (endless streamed body), ``/huge-declared`` (Content-Length of 1 GB),
``/slow`` (one line, then silence), ``/status/{code}``, ``/redirect/{n}`` (a chain of
n hops ending at ``/list.csv``), ``/redirect-to?url=…``, ``/gzip-bomb`` (small gzip,
big body), and Google-Sheets-like ``/spreadsheets/d/{id}/export`` (``PRIVATE`` redirects
to a login page, as Google does for a private sheet).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ssl
from collections.abc import Awaitable, Callable
from io import BytesIO
from types import TracebackType
from typing import Self

from aiohttp import web
from openpyxl import Workbook

CSV_BODY = "email,name\nann@example.com,Ann\nbob@example.com,Боб\n".encode()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOGIN_PAGE = (
    b"\n  <!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"
)
CHUNK = b"x" * 65536


def make_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["email", "name"])
    sheet.append(["ann@example.com", "Ann"])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class FileServer:
    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self.ssl_context = ssl_context
        self.port: int | None = None
        self.requests: list[tuple[str, str]] = []
        self.xlsx = make_xlsx()
        self.csv_body = CSV_BODY  # what ``/list.csv`` serves: a test may change the source
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/", self._csv)
        app.router.add_get("/list.csv", self._csv)
        app.router.add_get("/download", self._named_csv)
        app.router.add_get("/table.xlsx", self._xlsx)
        app.router.add_get("/export", self._xlsx)
        app.router.add_get("/login", self._login)
        app.router.add_get("/sneaky.csv", self._sneaky)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/huge-declared", self._huge_declared)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/gzip-bomb", self._gzip_bomb)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/redirect/{hops}", self._redirect)
        app.router.add_get("/redirect-to", self._redirect_to)
        app.router.add_get("/spreadsheets/d/{sheet}/export", self._sheet_export)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.requests.append((request.path, request.headers.get("Host", "")))
        return await handler(request)

    async def _csv(self, request: web.Request) -> web.Response:
        return web.Response(body=self.csv_body, content_type="text/csv", charset="utf-8")

    async def _named_csv(self, request: web.Request) -> web.Response:
        disposition = (
            'attachment; filename="list.csv"; '
            "filename*=UTF-8''%D0%A1%D0%BF%D0%B8%D1%81%D0%BE%D0%BA.csv"  # "Список.csv"
        )
        return web.Response(
            body=CSV_BODY, content_type="text/csv", headers={"Content-Disposition": disposition}
        )

    async def _xlsx(self, request: web.Request) -> web.Response:
        return web.Response(body=self.xlsx, content_type=XLSX_TYPE)

    async def _login(self, request: web.Request) -> web.Response:
        return web.Response(body=LOGIN_PAGE, content_type="text/html")

    async def _sneaky(self, request: web.Request) -> web.Response:
        return web.Response(body=LOGIN_PAGE, content_type="text/csv")

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, RuntimeError):
            for _ in range(2000):  # 128 MB at most; the client hangs up long before
                await response.write(CHUNK)
        return response

    async def _huge_declared(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        response.content_length = 1024**3
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write(CHUNK)
        return response

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        await response.prepare(request)
        await response.write(b"email\n")
        await asyncio.sleep(30)  # cancelled when the client gives up (handler_cancellation)
        return response

    async def _gzip_bomb(self, request: web.Request) -> web.Response:
        body = gzip.compress(b"a" * (4 * 1024 * 1024))  # ~4 KB on the wire, 4 MB unpacked
        headers = {"Content-Encoding": "gzip", "Content-Type": "text/csv"}
        return web.Response(body=body, headers=headers)

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def _redirect(self, request: web.Request) -> web.Response:
        hops = int(request.match_info["hops"])
        target = "/list.csv" if hops <= 1 else f"/redirect/{hops - 1}"
        raise web.HTTPFound(target)

    async def _redirect_to(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def _sheet_export(self, request: web.Request) -> web.Response:
        if request.match_info["sheet"] == "PRIVATE":
            raise web.HTTPFound("/login")
        gid = request.query.get("gid", "0")
        disposition = f'attachment; filename="Sheet - {gid}.csv"'
        return web.Response(
            body=CSV_BODY, content_type="text/csv", headers={"Content-Disposition": disposition}
        )
