"""A fake third-party API that receives webhook POSTs, on 127.0.0.1 (port 0)::

    async with FakeWebhook() as hook:
        channel = WebhookChannel(hook.url, {"X-Token": "t"})
        hook.respond(503, headers={"Retry-After": "7"})   # the next request gets 503
        hook.hang_next()                                  # the next request never gets an answer
        hook.requests                                     # every request, in order

Unscripted requests get ``200 {"id": "msg-<n>"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON (None when the body was not JSON)
    peer: str  # "host:port" of the client connection, to count connections
    raw: bytes = b""  # the body as received (what a signature is checked against)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any
    headers: dict[str, str]
    hang: bool = False


class FakeWebhook:
    def __init__(self, *, host: str = "127.0.0.1", path: str = "/hook") -> None:
        self.host = host
        self.path = path
        self.port: int | None = None
        self.requests: list[WebhookRequest] = []
        self.delay = 0.0  # seconds before every answer
        # answer once this many requests are in flight together (or after 5 s): shows a
        # client's concurrency whatever the machine's load, where a delay only makes it likely
        self.answer_in_groups_of = 0
        self._in_flight_changed = asyncio.Condition()
        self.in_flight = 0  # requests being answered right now
        self.max_in_flight = 0
        self._script: deque[_Reply] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def _wait_for_group(self) -> None:
        async with self._in_flight_changed:
            self._in_flight_changed.notify_all()
            group = self.answer_in_groups_of
            with contextlib.suppress(TimeoutError):  # fewer came: max_in_flight tells
                await asyncio.wait_for(
                    self._in_flight_changed.wait_for(lambda: self.max_in_flight >= group), 5
                )

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeWebhook is not started")
        return f"http://{self.host}:{self.port}{self.path}"

    def respond(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests get this answer (``body`` sent as JSON if not None)."""
        self._script.extend(_Reply(status, body, dict(headers or {})) for _ in range(times))

    def hang_next(self, times: int = 1) -> None:
        """The next ``times`` requests are read but never answered."""
        self._script.extend(_Reply(200, None, {}, hang=True) for _ in range(times))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
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

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        peername = request.transport.get_extra_info("peername") if request.transport else None
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        self.requests.append(WebhookRequest(request.path, dict(request.headers), body, peer, raw))
        reply = self._script.popleft() if self._script else None
        if reply is not None and reply.hang:
            await asyncio.Event().wait()  # cancelled when the client gives up
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.answer_in_groups_of:
                await self._wait_for_group()
        finally:
            self.in_flight -= 1
        if reply is None:
            reply = _Reply(200, {"id": f"msg-{next(self._ids)}"}, {})
        text = json.dumps(reply.body) if reply.body is not None else ""
        return web.Response(
            status=reply.status,
            text=text,
            headers=reply.headers,
            content_type="application/json" if reply.body is not None else "text/plain",
        )
