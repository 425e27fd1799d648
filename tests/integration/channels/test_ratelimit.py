"""MemoryRateLimiter: even spacing, per-key interval, and a global pause after a 429."""

from __future__ import annotations

import asyncio
import time

from infrastructure.channels.ratelimit import MemoryRateLimiter


async def _stamp(limiter: MemoryRateLimiter, key: str, out: list[float]) -> None:
    await limiter.acquire(key)
    out.append(time.monotonic())


async def test_global_rate_spaces_acquisitions_evenly() -> None:
    limiter = MemoryRateLimiter(50.0)
    times: list[float] = []
    await asyncio.gather(*(_stamp(limiter, str(n), times) for n in range(11)))
    assert 0.19 <= max(times) - min(times) <= 0.3  # 10 intervals of 20 ms


async def test_one_key_waits_its_interval() -> None:
    limiter = MemoryRateLimiter(1000.0, per_key_interval=0.1)
    times: list[float] = []
    await asyncio.gather(*(_stamp(limiter, "chat", times) for _ in range(3)))
    assert max(times) - min(times) >= 0.19


async def test_pause_holds_every_sender_including_those_already_waiting() -> None:
    limiter = MemoryRateLimiter(20.0)
    times: list[float] = []
    await limiter.acquire("first")  # the next slots are now in the future
    start = time.monotonic()
    waiting = [asyncio.create_task(_stamp(limiter, str(n), times)) for n in range(4)]
    await asyncio.sleep(0)
    await limiter.pause(0.3)
    assert 0.25 < await limiter.paused_for() <= 0.3
    await asyncio.gather(*waiting)
    assert min(times) - start >= 0.29
    assert await limiter.paused_for() == 0.0
