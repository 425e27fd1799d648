"""send_each: every item once, results in order, one cap shared by concurrent batches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from infrastructure.channels.fanout import send_each


async def test_results_keep_the_order_of_the_items_whatever_finishes_first() -> None:
    slots = asyncio.Semaphore(4)

    async def send(item: int) -> str:
        await asyncio.sleep(0.001 * (item % 3))  # later items often finish first
        return f"r{item}"

    results = await send_each(slots, 4, list(range(10)), send)

    assert results == [f"r{i}" for i in range(10)]


async def test_concurrent_batches_share_the_cap_and_each_item_is_sent_once() -> None:
    slots = asyncio.Semaphore(3)
    in_flight = 0
    peak = 0
    sent: list[tuple[str, int]] = []

    def sender(batch: str) -> Callable[[int], Awaitable[int]]:
        async def send(item: int) -> int:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.001)
            sent.append((batch, item))
            in_flight -= 1
            return item

        return send

    first, second = await asyncio.gather(
        send_each(slots, 3, list(range(20)), sender("a")),
        send_each(slots, 3, list(range(7)), sender("b")),
    )

    assert first == list(range(20)) and second == list(range(7))
    assert sorted(sent) == sorted([("a", i) for i in range(20)] + [("b", i) for i in range(7)])
    assert peak == 3  # both batches together, never more than the slots


async def test_no_items_sends_nothing() -> None:
    calls: list[int] = []

    async def send(item: int) -> int:
        calls.append(item)
        return item

    assert await send_each(asyncio.Semaphore(2), 2, [], send) == []
    assert calls == []
