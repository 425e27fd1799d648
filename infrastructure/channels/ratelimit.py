"""Rate limits of a channel account, shared by every task that sends through it.

Telegram allows about 30 messages/s in total and about 1 message/s per chat
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this) and
answers 429 ``retry_after`` past that. A 429 costs a whole ``retry_after`` of the lane's
sending, so the limiter must not trip the server's window at all. The server counts a
request when it *arrives*, which is later than the moment a limiter grants its slot, by
an amount nobody controls (the event loop, a late waker, the write, the server's own
loop): departures stamped when granted let some 1-second window at the server hold more
than the rate (measured at 1000/s paid: one to five 429s a run, each a 5 s pause, 0.61 of
the rate). So a send goes in three steps:

1. **reserve** a slot: slots are spaced evenly (a GCRA / leaky bucket without burst) at
   ``margin(rate)`` below the configured rate, after any pause, and only for a chat whose own
   interval has passed; the task sleeps until its slot;
2. **confirm** at the slot: not paused meanwhile (a 429 that arrived while we slept: take
   a new slot after it), the chat's 1 message/s still free (two tasks may have reserved
   slots for one chat: the later one takes a new slot), and fewer than ``rate`` sends
   counted (``Budget``): those **in flight** (granted, not yet answered) plus those
   answered in the last second. A late waker waits until there is room (keeping its
   turn, so a loaded machine does not waste slots). The send is now in flight;
3. **sent**: once its answer is in (or it failed), the send counts as departed *now*.

Why this holds whatever the delays: the answer comes after the server counted the
request, so a send's recorded time is never before its arrival there. Take any 1-second
window at the server and the send of it granted last, at ``g``: every other one was
granted before ``g`` and either was still in flight then (counted) or had been answered
before ``g`` but after the window began, which is after ``g - 1`` (counted too). So the
window holds at most ``rate`` (``tests/integration/channels/test_ratelimit.py`` checks it
with slow, jittered requests and a late waker). A send never marked ``sent`` (its task
was cancelled, a process died) counts as departed ``IN_FLIGHT_FOR`` after its grant.

A 429 gives its send back (it did not count at the server) and teaches the limiter the
server's real limit (``ratelimit_learning``); sends made elsewhere (the bot's replies to
people) are ``note``d so broadcasts leave them room in the same window.

``MemoryRateLimiter`` holds within one process; ``RedisRateLimiter``
(``ratelimit_redis``) runs the same steps as Lua scripts in Redis so that every worker
process of a bot shares one budget.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from infrastructure.channels.ratelimit_learning import LearnedRate

# Run this far below the configured rate: the server's window has no slack. At 30/s a
# 3 % margin is one message a second; at 1000/s 1 % is ten, and 3 % would have kept paid
# broadcasts below 0.97 of what is paid for.
MARGIN = 0.03
MIN_MARGIN = 0.01


def margin(rate: float) -> float:
    """About one message a second below ``rate``, between 1 % and ``MARGIN``."""
    return min(MARGIN, max(MIN_MARGIN, 1.0 / rate))


_PRUNE_AT = 10_000  # per-key entries kept before expired ones are dropped
# A slot less than this far off is taken at once: at high rates (1000/s and more) a timer
# per send cost more than the spacing gives (bench/delivery.py), and the count of step 2
# still holds every second to the rate.
_MIN_SLEEP = 0.001
# When the sends in flight fill the budget, when one of them is answered is not known:
# look again this often (at most; the slot interval when that is shorter).
_IN_FLIGHT_POLL = 0.005
SERVER_WINDOW = 1.0  # Telegram counts its broadcast limit per second
# A send not marked ``sent`` this long after its grant (its task was cancelled, its
# process died, its answer never came) counts as departed then. Longer than any answer
# takes; a process that dies with sends in flight holds their budget this long.
IN_FLIGHT_FOR = 5.0

# One recorded send: an id and its time on the limiter's clock (Redis's, for Redis).
Departure = tuple[str, float]


class RateLimiter(Protocol):
    """A send budget: a global rate plus a minimum interval per key (a chat)."""

    @property
    def rate(self) -> float:
        """The rate it runs at now: the configured one, or lower as learned from 429s."""
        ...

    async def acquire(self, key: str, max_pause: float = math.inf) -> Departure:
        """Wait until one more send to ``key`` fits both limits, and take that slot: the
        send is in flight until ``sent`` or ``throttled``. Raise ``Paused`` instead of
        waiting out a pause longer than ``max_pause`` that began while this send waited
        for its slot (another send's 429)."""
        ...

    async def sent(self, departure: Departure) -> None:
        """The send of ``departure`` was answered (or failed once it may have left): it
        counts in the window from now. Never raises: if the record is lost, the send
        counts from ``IN_FLIGHT_FOR`` after its grant."""
        ...

    async def throttled(self, departure: Departure, retry_after: float) -> None:
        """The send of ``departure`` got 429 ``retry_after``: it is given back, the server's
        limit is learned from the sends that counted, and every sender waits ``retry_after``."""
        ...

    async def note(self) -> None:
        """A send that did not go through this limiter (a reply of the bot) left just now:
        it counts in the window, so the next sends leave room for it."""
        ...

    async def take(self) -> Departure:
        """A send that did not wait for this limiter (another lane's, on a server limit
        both lanes share) is in flight now: it counts as one of ours, even past the rate,
        until ``sent``."""
        ...

    async def pause(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (the server answered 429 retry_after)."""
        ...

    async def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        ...

    async def aclose(self) -> None:
        """Release connections the limiter owns."""
        ...


class LimiterUnavailable(Exception):
    """The shared limiter could not be reached for too long; nothing was sent."""


class Paused(Exception):
    """A pause longer than the caller would wait holds the limiter; nothing was sent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.1f} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Budget:
    """The numbers both limiters work with, derived from the configured rate."""

    interval: float  # seconds between reserved slots
    window: float  # span of the count of step 2: the server's
    allowed: int  # sends allowed inside ``window``, in flight included
    per_key: float  # seconds between two sends to one key

    @classmethod
    def of(cls, rate: float, per_key_interval: float) -> Budget:
        if rate <= 0:
            raise ValueError("rate must be positive")
        span = max(1.0, 1.0 / rate)  # the server counts per second (one per 1/x s if x < 1)
        # No guard on the window: a send counts from its answer, which is never before
        # the server counted it (module doc). The margin of the spacing leaves room for
        # the time a send is in flight and for the bot's replies.
        return cls(
            interval=1.0 / (rate * (1 - margin(rate))),
            window=span,
            allowed=max(1, math.floor(rate * span)),
            per_key=max(per_key_interval, 0.0),
        )

    @property
    def poll(self) -> float:
        """How long to wait when the sends in flight fill the budget."""
        return min(self.interval, _IN_FLIGHT_POLL)


class TwoStepLimiter(ABC):
    """The acquire loop shared by the limiters: reserve, sleep, confirm or start over; and
    the rate learned from 429s (kept by each process: the count it learns from is shared)."""

    def __init__(
        self, rate: float, per_key: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget = Budget.of(rate, per_key)
        self.learned = LearnedRate(rate)
        self._clock = clock

    @property
    def rate(self) -> float:
        return self.learned.rate

    async def acquire(self, key: str, max_pause: float = math.inf) -> Departure:
        if self.learned.probe(self._clock()):
            self.budget = Budget.of(self.learned.rate, self.budget.per_key)
        again = False  # the caller looked at the pause just before: no second look
        while True:
            if again and max_pause < math.inf:  # a 429 may have paused us meanwhile
                paused = await self.paused_for()
                if paused > max_pause:
                    raise Paused(paused)
            again = True
            wait, reserved = await self._reserve(key)
            if wait > max_pause:  # a pause began since the caller looked (Redis only)
                paused = await self.paused_for()
                if paused > max_pause:
                    raise Paused(paused)  # the slot after it is left unused
            if wait > _MIN_SLEEP or (wait > 0 and not reserved):
                await asyncio.sleep(wait)
            while reserved:
                room_in, departure = await self._confirm(key)
                if room_in == 0:
                    return departure
                if room_in < 0:
                    break  # take a new slot
                await asyncio.sleep(room_in)

    async def throttled(self, departure: Departure, retry_after: float) -> None:
        first = await self.paused_for() <= 0  # later 429s of this pause teach nothing new
        counted = await self._give_back(departure)
        if first and self.learned.learn(counted, self._clock()):
            self.budget = Budget.of(self.learned.rate, self.budget.per_key)
        await self.pause(retry_after)

    @abstractmethod
    async def pause(self, seconds: float) -> None: ...

    @abstractmethod
    async def paused_for(self) -> float: ...

    @abstractmethod
    async def _give_back(self, departure: Departure) -> int:
        """Forget ``departure``; how many departures of the ``SERVER_WINDOW`` before it
        are left (the sends the server counted when it refused this one)."""

    @abstractmethod
    async def _reserve(self, key: str) -> tuple[float, bool]:
        """Seconds to sleep, and whether a slot at the end of them was taken (False: the
        key's own interval runs until then, try again)."""

    @abstractmethod
    async def _confirm(self, key: str) -> tuple[float, Departure]:
        """At the slot: 0 and the departure when it is in flight (every check passed, see
        the module doc); else seconds until the window has room, or -1 to take a new slot."""


class MemoryRateLimiter(TwoStepLimiter):
    """In-process limiter: each step runs without an ``await`` inside, so concurrent tasks
    on one event loop never take the same slot and no lock is needed."""

    def __init__(
        self,
        rate: float,
        per_key_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        busy_start: bool = False,
    ) -> None:
        """``busy_start``: the limiter starts as if the last window had been sent to the
        full, so its first slot is one window after it was made. A process restarted
        right after a crash (``kill -9``) cannot know what its predecessor sent in its
        last second; without this it would send a whole second's worth at once, on top
        of the dead process's last second (issue 15). A restart takes longer than that
        anyway, so it costs nothing but the guarantee's certainty."""
        super().__init__(rate, per_key_interval, clock=clock)
        # earliest time of the next global slot
        self._next = clock() + self.budget.window if busy_start else 0.0
        self._paused_until = 0.0
        self._departures: deque[float] = deque()  # answered sends (sorted), and expired ones
        # Sends in flight: id -> time granted, in the order granted.
        self._flying: dict[str, float] = {}
        self._granted = 0  # ids of departures
        # ``note`` may be called from another thread (the bot's replies while the workers
        # send on theirs): its departures wait here until this limiter's own thread looks.
        self._noted: deque[float] = deque()
        self._keys: dict[str, float] = {}  # key -> earliest time of its next send
        self._prune_at = _PRUNE_AT

    async def _reserve(self, key: str) -> tuple[float, bool]:
        now = self._clock()
        slot = max(now, self._next, self._paused_until, self._departures_allow(now))
        free_at = self._keys.get(key, 0.0)
        if free_at > slot:
            return free_at - now, False
        self._next = slot + self.budget.interval
        return slot - now, True

    def _departures_allow(self, now: float) -> float:
        """Earliest time the sends in flight and the recent departures allow another one."""
        b = self.budget
        gone, flying = self._departures, self._flying
        while self._noted:
            self._depart(self._noted.popleft())
        while flying:  # the oldest in flight first: never answered, it counts from then
            oldest = next(iter(flying))
            expired = flying[oldest] + IN_FLIGHT_FOR
            if expired > now:
                break
            del flying[oldest]
            self._depart(expired)
        while gone and gone[0] <= now - b.window:
            gone.popleft()
        over = len(gone) + len(flying) - b.allowed  # room once over + 1 have left
        if over < 0:
            return now
        if over < len(gone):
            return gone[over] + b.window
        return now + b.poll  # in flight: answered some time soon

    def _depart(self, at: float) -> None:
        gone = self._departures
        if not gone or gone[-1] <= at:
            gone.append(at)
        else:
            bisect.insort(gone, at)

    async def _confirm(self, key: str) -> tuple[float, Departure]:
        now = self._clock()
        if self._paused_until > now or self._keys.get(key, 0.0) > now:
            return -1.0, ("", now)
        room_at = self._departures_allow(now)
        if room_at > now:
            return room_at - now, ("", now)
        b = self.budget
        self._granted += 1
        departure = (str(self._granted), now)
        self._flying[departure[0]] = now
        if b.per_key > 0:
            if len(self._keys) >= self._prune_at:
                self._keys = {k: t for k, t in self._keys.items() if t > now}
                # More keys than that may be live at once (a fast rate): prune again only
                # once they have doubled, or every message would walk them all.
                self._prune_at = max(_PRUNE_AT, 2 * len(self._keys))
            self._keys[key] = now + b.per_key
        return 0.0, departure

    async def sent(self, departure: Departure) -> None:
        # Also when it expired already (counted from then): now is when it surely arrived.
        self._flying.pop(departure[0], None)
        self._depart(self._clock())

    async def note(self) -> None:
        self._noted.append(self._clock())  # deque.append is atomic: safe from any thread

    async def take(self) -> Departure:
        now = self._clock()
        self._granted += 1
        departure = (str(self._granted), now)
        self._flying[departure[0]] = now
        return departure

    async def _give_back(self, departure: Departure) -> int:
        gone, (key, at) = self._departures, departure
        if self._flying.pop(key, None) is None and at + IN_FLIGHT_FOR in gone:
            gone.remove(at + IN_FLIGHT_FOR)  # it had expired: its place is given back
        return bisect.bisect_right(gone, at) - bisect.bisect_right(gone, at - SERVER_WINDOW)

    async def pause(self, seconds: float) -> None:
        until = self._clock() + max(seconds, 0.0)
        self._paused_until = max(self._paused_until, until)

    async def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def aclose(self) -> None:
        return None
