"""Both rate limiters (in memory, and in a real Redis): even spacing, per-key interval, a
global pause after a 429; the Redis one shares its budget between separate clients (as
worker processes do) and waits out a Redis outage instead of failing or sending."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from infrastructure.channels.ratelimit import (
    LimiterUnavailable,
    MemoryRateLimiter,
    Paused,
    RateLimiter,
)
from infrastructure.channels.ratelimit_redis import RedisRateLimiter
from tests.fakes.bot_api_limits import busiest_window
from tests.support.redis import REDIS_URL, new_prefix

MakeLimiter = Callable[[float, float], RateLimiter]

# Sends at 20 a second: the fast loop's quick check fills one second's window and crosses
# it (1.2 s); the longer proof over more than two seconds of windows is slow.
SENDS = [pytest.param(25, id="25"), pytest.param(45, id="45", marks=pytest.mark.slow)]


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(
    request: pytest.FixtureRequest, redis_prefix: str
) -> AsyncIterator[MakeLimiter]:
    made: list[RateLimiter] = []

    def make(rate: float, per_key: float = 0.0) -> RateLimiter:
        limiter: RateLimiter
        if request.param == "memory":
            limiter = MemoryRateLimiter(rate, per_key)
        else:
            limiter = RedisRateLimiter.from_url(REDIS_URL, f"{redis_prefix}:tg:1", rate, per_key)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def _stamp(limiter: RateLimiter, key: str, out: list[float]) -> None:
    departure = await limiter.acquire(key)
    out.append(time.monotonic())
    await limiter.sent(departure)


async def test_global_rate_spaces_acquisitions_evenly(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(50.0, 0.0)
    times: list[float] = []
    await asyncio.gather(*(_stamp(limiter, str(n), times) for n in range(11)))
    assert max(times) - min(times) >= 0.19  # 10 intervals of at least 20 ms


@pytest.mark.parametrize("sends", SENDS)
async def test_no_second_ever_holds_more_than_the_rate(
    make_limiter: MakeLimiter, sends: int
) -> None:
    limiter = make_limiter(20.0, 0.0)
    times: list[float] = []
    await asyncio.gather(*(_stamp(limiter, str(n), times) for n in range(sends)))
    assert len(times) == sends
    assert busiest_window(sorted(times)) <= 20


async def test_no_second_at_the_server_holds_more_than_the_rate_whatever_the_delays(
    make_limiter: MakeLimiter,
) -> None:
    """Requests that reach the server some time after their slot (0-60 ms, at random) and
    are answered some time after that, from runners that wake late: counted where the
    server counts them, no 1-second window holds more than the rate."""
    limiter = make_limiter(20.0, 0.0)
    arrivals: list[float] = []
    rnd = random.Random(15)

    async def request(n: int) -> None:
        await asyncio.sleep(rnd.uniform(0, 0.1))  # a late waker, now and then
        departure = await limiter.acquire(str(n))
        await asyncio.sleep(rnd.uniform(0, 0.06))  # the loop, the write, the server's loop
        arrivals.append(time.monotonic())
        await asyncio.sleep(rnd.uniform(0, 0.03))  # the answer on its way back
        await limiter.sent(departure)

    await asyncio.gather(*(request(n) for n in range(30)))

    assert len(arrivals) == 30
    assert busiest_window(sorted(arrivals)) <= 20


async def test_one_key_waits_its_interval(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(1000.0, 0.1)
    times: list[float] = []
    await asyncio.gather(*(_stamp(limiter, "chat", times) for _ in range(3)))
    assert max(times) - min(times) >= 0.19


# The pause tests' senders wait for slots 0.2 s apart (5 a second), so that the pause
# surely comes while they wait: at 20 a second the first slot came 50 ms after the
# first send, and under load (the test processes run at nice 19) the pause's own round
# trip to Redis sometimes took longer, so a sender went before the pause it was meant to
# meet (4 failures in 8 runs of the fast loop at load 8-12). The pauses stay longer than
# the first slot: a limiter that ignored them would still fail.
WAITING_RATE = 5.0


async def test_pause_holds_every_sender_including_those_already_waiting(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(WAITING_RATE, 0.0)
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


async def test_a_pause_longer_than_the_caller_waits_is_raised_not_slept_through(
    make_limiter: MakeLimiter,
) -> None:
    """A sender already waiting for its slot when another send's 429 pauses the limiter
    for longer than it may wait is told so, and takes no slot."""
    limiter = make_limiter(WAITING_RATE, 0.0)
    await limiter.acquire("first")  # the next slots are now in the future
    waiting = [asyncio.create_task(limiter.acquire(str(n), max_pause=1.0)) for n in range(3)]
    await asyncio.sleep(0)
    await limiter.pause(30)

    results = await asyncio.gather(*waiting, return_exceptions=True)

    assert all(isinstance(result, Paused) for result in results), results
    assert all(29 <= result.seconds <= 30 for result in results if isinstance(result, Paused))
    assert 29 <= await limiter.paused_for() <= 30  # the pause itself stands


async def test_a_pause_shorter_than_the_caller_waits_is_waited_out(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(WAITING_RATE, 0.0)
    await limiter.acquire("first")
    start = time.monotonic()
    waiting = asyncio.create_task(limiter.acquire("second", max_pause=1.0))
    await asyncio.sleep(0)
    await limiter.pause(0.3)

    await waiting

    assert time.monotonic() - start >= 0.29
    assert await limiter.paused_for() == 0.0


async def test_noted_sends_take_their_place_in_the_window(make_limiter: MakeLimiter) -> None:
    """The bot's replies, sent outside the limiter, leave broadcasts less of the second."""
    limiter = make_limiter(5.0, 0.0)
    for _ in range(5):
        await limiter.note()
    start = time.monotonic()

    await limiter.acquire("broadcast")

    assert time.monotonic() - start >= 0.9  # the window was full of replies


async def test_another_lanes_sends_hold_their_place_until_answered(
    make_limiter: MakeLimiter,
) -> None:
    """Free sends counted in the fast lane (``take``): in flight, they fill its window;
    answered, they count from their answer."""
    limiter = make_limiter(2.0, 0.0)
    taken = [await limiter.take(), await limiter.take()]
    waiting = asyncio.create_task(limiter.acquire("broadcast"))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # both places are in flight

    for departure in taken:
        await limiter.sent(departure)
    answered = time.monotonic()
    await waiting

    assert time.monotonic() - answered >= 0.9


async def test_a_429_gives_its_send_back_and_teaches_the_rate_the_server_counted(
    make_limiter: MakeLimiter,
) -> None:
    limiter = make_limiter(100.0, 0.0)
    for n in range(10):
        await limiter.sent(await limiter.acquire(str(n)))
    departures = [await limiter.acquire(str(n)) for n in range(10, 12)]

    await limiter.throttled(departures[0], 0.05)  # the 11th was one too many

    assert limiter.rate == 10.0  # the ten that counted
    await limiter.throttled(departures[1], 0.05)  # a second 429 of the same pause
    assert limiter.rate == 10.0  # teaches nothing new


@pytest.mark.parametrize("sends", SENDS)
async def test_redis_budget_is_shared_by_separate_clients(redis_prefix: str, sends: int) -> None:
    """Three limiters with their own connections, like three worker processes: together
    they stay within one rate, and one's 429 pause holds the others."""
    limiters = [
        RedisRateLimiter.from_url(REDIS_URL, f"{redis_prefix}:tg:7", 20.0, 1.0) for _ in range(3)
    ]
    try:
        times: list[float] = []
        await asyncio.gather(
            *(_stamp(limiters[n % 3], str(n), times) for n in range(sends)),
            _stamp(limiters[0], "same-chat", times),
            _stamp(limiters[1], "same-chat", times),
        )
        assert len(times) == sends + 2
        assert busiest_window(sorted(times)) <= 20

        await limiters[0].pause(0.5)
        start = time.monotonic()
        await limiters[2].acquire("after-pause")
        assert time.monotonic() - start >= 0.45
        assert await limiters[2].paused_for() == 0.0
    finally:
        for limiter in limiters:
            await limiter.aclose()


async def test_redis_limiters_of_two_bots_do_not_share(redis_prefix: str) -> None:
    one = RedisRateLimiter.from_url(REDIS_URL, f"{redis_prefix}:tg:1", 5.0)
    two = RedisRateLimiter.from_url(REDIS_URL, f"{redis_prefix}:tg:2", 5.0)
    try:
        await one.pause(5)
        assert await two.paused_for() == 0.0
    finally:
        await one.aclose()
        await two.aclose()


# -- a Redis outage ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test alone, to stop and start at will."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._tmp = tmp
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._proc = subprocess.Popen(
            [binary, *args, "--appendonly", "no", "--dir", str(self._tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _eventually(check: Callable[[], Awaitable[bool] | bool], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.mark.slow  # stops and starts a redis-server process
async def test_redis_outage_waits_with_a_warning_and_resumes(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RedisRateLimiter.from_url(private_redis.url, f"{new_prefix()}:tg:1", 50.0)
    try:
        await limiter.acquire("a")
        private_redis.stop()
        with caplog.at_level(logging.WARNING, "infrastructure.channels.ratelimit_redis"):
            waiting = asyncio.create_task(limiter.acquire("b"))
            await _eventually(lambda: "Redis unreachable" in caplog.text, 15)
            assert not waiting.done()  # no slot without Redis: nothing may be sent
            private_redis.start()
            await asyncio.wait_for(waiting, 30)  # the same call goes on once Redis is back
    finally:
        await limiter.aclose()


async def test_a_long_redis_outage_gives_up_without_a_slot(private_redis: PrivateRedis) -> None:
    client = Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    limiter = RedisRateLimiter(client, f"{new_prefix()}:tg:1", 50.0, max_outage=0.5)
    try:
        private_redis.stop()
        with pytest.raises(LimiterUnavailable):
            await limiter.acquire("a")
    finally:
        await limiter.aclose()
