"""MemoryRateLimiter's per-key table with more live keys than its prune threshold."""

from __future__ import annotations

from infrastructure.channels import ratelimit
from infrastructure.channels.ratelimit import MemoryRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_many_live_keys_keep_their_interval_and_expired_ones_go() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(1e9, per_key_interval=1.0, clock=clock)
    live = 3 * ratelimit._PRUNE_AT  # a fast rate: this many chats within one second
    for i in range(live):
        clock.now += 0.1 / live
        assert (await limiter._confirm(f"chat{i}"))[0] == 0.0

    # Every key sent within the last second still waits its interval...
    assert (await limiter._confirm("chat0"))[0] == -1.0
    assert (await limiter._confirm(f"chat{live - 1}"))[0] == -1.0
    # ...and once the second is over, the next prune drops them all.
    clock.now += 1.0
    for i in range(2 * live):
        assert (await limiter._confirm(f"later{i}"))[0] == 0.0
    assert len(limiter._keys) < 2 * live + 1
    assert "chat0" not in limiter._keys
    assert (await limiter._confirm("chat0"))[0] == 0.0  # free again
