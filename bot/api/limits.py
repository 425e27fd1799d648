"""What one client may send: a body size cap (413) and a per-token request rate (429)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.problems import Problem, problem_response


class BodyLimit:
    """Refuses a body over ``max_bytes`` before the route reads it: at once when
    ``Content-Length`` says so, else as soon as the streamed bytes pass the cap."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(
                Request(scope), 413, "api-body-too-large", {"max": self.max_bytes}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise Problem(413, "api-body-too-large", max=self.max_bytes)
            return message

        await self.app(scope, counted, send)


class TokenRateLimit:
    """A moving one-second window per token, in this process (the API runs in the bot
    process only). Past it: 429 with ``Retry-After`` in whole seconds."""

    def __init__(self, per_second: int) -> None:
        self.item = RateLimitItemPerSecond(per_second, 1)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def check(self, key: str) -> None:
        if await self.limiter.hit(self.item, key):
            return
        stats = await self.limiter.get_window_stats(self.item, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise Problem(429, "api-rate-limited", {"Retry-After": str(wait)}, seconds=wait)
