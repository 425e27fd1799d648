"""A restarted process's in-memory limiter: it cannot know what the process before it
sent in its last second, so with ``busy_start`` it takes that second as used to the full
and sends nothing within one window of being made (issue 15)."""

from __future__ import annotations

import pytest

from infrastructure.channels.ratelimit import Budget, MemoryRateLimiter
from tests.unit.infrastructure.test_memory_limiter_keys import Clock


async def test_a_busy_start_leaves_the_first_window_to_the_process_before() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(30.0, clock=clock, busy_start=True)
    wait, reserved = await limiter._reserve("chat")
    assert reserved and wait == pytest.approx(limiter.budget.window)
    assert limiter.budget.window >= 1.0  # the server's whole second

    # Reserved slots follow at the usual spacing after it: 30 in the next window.
    slots = [wait] + [(await limiter._reserve(f"chat{i}"))[0] for i in range(29)]
    assert slots == sorted(slots) and slots[-1] - slots[0] < 1.0


async def test_without_a_busy_start_the_first_send_goes_at_once() -> None:
    limiter = MemoryRateLimiter(30.0, clock=Clock())
    assert await limiter._reserve("chat") == (0.0, True)


@pytest.mark.parametrize("rate", [30.0, 1000.0])
def test_the_window_is_the_servers_second_and_steady_pacing_fits_it(rate: float) -> None:
    budget = Budget.of(rate, 1.0)
    assert (budget.window, budget.allowed) == (1.0, rate)
    # Steady pacing never waits for the window: `allowed` slots take longer than it, and
    # the difference is left to the sends in flight and the bot's replies.
    assert budget.allowed * budget.interval > budget.window
