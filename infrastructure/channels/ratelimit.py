"""Rate limits of a channel account, shared by every task that sends through it.

Telegram allows about 30 messages/s in total and about 1 message/s per chat
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
``MemoryRateLimiter`` spaces sends evenly (a GCRA / leaky bucket without burst) instead
of letting a token bucket fire a full second's worth at once: bursts meet network
jitter and trip the server's own sliding window, evenly spaced sends do not.
It holds within one process; a Redis-backed limiter implementing ``RateLimiter`` can
share the budget across worker processes later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

_PRUNE_AT = 10_000  # per-key entries kept before expired ones are dropped


class RateLimiter(Protocol):
    """A send budget: a global rate plus a minimum interval per key (a chat)."""

    async def acquire(self, key: str) -> None:
        """Wait until one more send to ``key`` fits both limits, and take that slot."""
        ...

    async def pause(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (the server answered 429 retry_after)."""
        ...

    async def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        ...


class MemoryRateLimiter:
    """In-process limiter: slots are reserved synchronously, so concurrent tasks on one
    event loop never take the same slot and no lock is needed."""

    def __init__(
        self,
        rate: float,
        per_key_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._per_key = per_key_interval
        self._clock = clock
        self._next = 0.0  # earliest time of the next global slot
        self._paused_until = 0.0
        self._keys: dict[str, float] = {}  # key -> earliest time of its next slot

    async def acquire(self, key: str) -> None:
        if self._per_key > 0:
            await self._sleep_until(self._reserve_key(key))
        while True:
            now = self._clock()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self._interval
            await self._sleep_until(slot)
            # A 429 may have arrived while we slept on a slot taken before it: take a new one.
            if self._paused_until <= self._clock():
                return

    async def pause(self, seconds: float) -> None:
        until = self._clock() + max(seconds, 0.0)
        self._paused_until = max(self._paused_until, until)

    async def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def _reserve_key(self, key: str) -> float:
        now = self._clock()
        if len(self._keys) >= _PRUNE_AT:
            self._keys = {k: t for k, t in self._keys.items() if t > now}
        slot = max(now, self._keys.get(key, 0.0))
        self._keys[key] = slot + self._per_key
        return slot

    async def _sleep_until(self, when: float) -> None:
        delay = when - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
