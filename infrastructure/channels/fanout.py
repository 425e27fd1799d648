"""Sending a batch a few messages at a time, with one cap shared by every batch in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


async def send_each(
    slots: asyncio.Semaphore, width: int, items: Sequence[T], send: Callable[[T], Awaitable[R]]
) -> list[R]:
    """``send`` every item; the results in the order of ``items``.

    At most ``width`` runners take a slot of ``slots`` (shared by all the channel's
    batches, so several workers together stay within it) and each sends one item after
    another until none is left. One task per runner rather than per message, and one
    slot acquired per runner rather than per message: with a fast API both were a
    noticeable part of the engine's cost per message (bench/delivery.py).
    """
    results: list[R | None] = [None] * len(items)
    pending = iter(enumerate(items))  # shared: each item goes to exactly one runner

    async def runner() -> None:
        async with slots:
            for index, item in pending:
                results[index] = await send(item)

    runners = min(width, len(items))
    if runners == 1:
        await runner()
    elif runners > 1:
        await asyncio.gather(*(runner() for _ in range(runners)))
    return cast(list[R], results)  # every index was filled
