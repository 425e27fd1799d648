"""The limiter's rule: a send counts from its grant while in flight and from its answer
once answered, so no 1-second window at the server holds more than the rate, however late
the runners wake and however long a request takes to arrive (``ratelimit``'s module doc).

Driven on a clock of the test's own: what is checked is the rule, not the machine's speed.
"""

from __future__ import annotations

import heapq
import random

from infrastructure.channels.ratelimit import IN_FLIGHT_FOR, Departure, MemoryRateLimiter
from tests.fakes.bot_api_limits import busiest_window
from tests.unit.infrastructure.test_memory_limiter_keys import Clock


async def _sent_at(limiter: MemoryRateLimiter, clock: Clock, at: float, d: Departure) -> None:
    now, clock.now = clock.now, at
    await limiter.sent(d)
    clock.now = now


async def test_late_wakers_and_slow_requests_never_overfill_a_second_at_the_server() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(100.0, clock=clock)
    rnd = random.Random(15)
    answers: list[tuple[float, int, Departure]] = []  # (answered at, n, departure)
    arrivals: list[float] = []
    end, n = clock.now + 20.0, 0
    while clock.now < end:
        # The runners wake on time mostly, sometimes up to 150 ms late.
        clock.now += rnd.uniform(0.02, 0.15) if rnd.random() < 0.2 else 0.001
        while answers and answers[0][0] <= clock.now:
            at, _, departure = heapq.heappop(answers)
            await _sent_at(limiter, clock, at, departure)
        # ...and then every one of them that is due asks at once (no pacing: the count alone).
        for _ in range(20):
            wait, departure = await limiter._confirm(f"chat{n}")
            if wait != 0:
                break
            arrival = clock.now + rnd.uniform(0.0, 0.08)  # the write, the server's loop
            arrivals.append(arrival)
            heapq.heappush(answers, (arrival + rnd.uniform(0.0, 0.04), n, departure))
            n += 1

    assert busiest_window(sorted(arrivals)) <= 100
    assert len(arrivals) >= 0.8 * 100 * 20  # and the budget is used, not left idle


async def test_an_answered_send_counts_from_its_answer() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(2.0, clock=clock)
    start = clock.now
    first, second = [(await limiter._confirm(key))[1] for key in ("a", "b")]
    assert (await limiter._confirm("c"))[0] > 0  # both in flight: the budget is full

    clock.now = start + 0.5
    await limiter.sent(first)
    await limiter.sent(second)

    clock.now = start + 1.4  # a second after their grants, not after their answers
    assert (await limiter._confirm("c"))[0] > 0
    clock.now = start + 1.5001
    assert (await limiter._confirm("c"))[0] == 0


async def test_a_send_never_answered_counts_from_the_end_of_its_flight() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(2.0, clock=clock)
    start = clock.now
    await limiter._confirm("a")  # its task was cancelled: no answer, no 429, ever
    await limiter._confirm("b")

    clock.now = start + IN_FLIGHT_FOR + 0.5
    assert (await limiter._confirm("c"))[0] > 0  # counted as departed at IN_FLIGHT_FOR
    clock.now = start + IN_FLIGHT_FOR + 1.0001
    assert (await limiter._confirm("c"))[0] == 0


async def test_a_429_gives_back_a_send_in_flight() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(2.0, clock=clock)
    _, refused = await limiter._confirm("a")
    await limiter._confirm("b")

    await limiter.throttled(refused, 0.0)

    assert (await limiter._confirm("c"))[0] == 0  # its place is free again
