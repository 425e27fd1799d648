"""The rate limiter of ``ratelimit`` kept in Redis, shared by every worker process of a bot.

Each step (reserve, confirm, sent, pause) is one Lua script, so it runs atomically in
Redis and reads Redis's own clock (``TIME``): workers on different machines need no clock
agreement. Keys (``<prefix>`` is ``<REDIS_KEY_PREFIX>:tg:<bot id>``):

* ``<prefix>:next``: the earliest time of the next global slot;
* ``<prefix>:pause``: the end of the pause after a 429;
* ``<prefix>:sent``: a sorted set of recent departures (score = time), pruned to the window;
  a send in flight is in it already, scored ``IN_FLIGHT_FOR`` after its grant (in the
  future: it counts, and if its process dies it counts as departed then), and ``sent``
  moves it to the time of its answer;
* ``<prefix>:chat:<chat id>``: when that chat may receive again.

Every key expires on its own, so an idle bot leaves nothing behind.

If Redis cannot be reached, a step waits and tries again (a warning in the log each
time) for up to ``max_outage`` seconds, then raises ``LimiterUnavailable``: the channel
hands the message back untouched to be retried later. Nothing is sent without the shared
budget's consent, so an outage neither loses nor doubles a message.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from infrastructure.channels.ratelimit import (
    IN_FLIGHT_FOR,
    SERVER_WINDOW,
    Departure,
    LimiterUnavailable,
    TwoStepLimiter,
)

log = logging.getLogger(__name__)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function num(key)
  return tonumber(redis.call('GET', key) or '0') or 0
end
-- earliest time the sends in flight and the departures in the window allow another one
-- (KEYS[3] the set; those in flight are scored in the future, they leave when answered)
local function departures_allow(window, allowed, poll)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.6f', now - window))
  local n = redis.call('ZCARD', KEYS[3])
  if n >= allowed then
    local e = redis.call('ZRANGE', KEYS[3], n - allowed, n - allowed, 'WITHSCORES')
    local at = tonumber(e[2])
    if at > now then
      return now + poll
    end
    return at + window
  end
  return now
end
"""

# KEYS: next, pause, sent, chat. ARGV: interval, window, allowed, ttl ms, poll.
# Returns {seconds to sleep, 1 if a slot was taken else 0, seconds left of the pause}.
_RESERVE = (
    _NOW
    + """
local interval, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local allowed, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local pause = num(KEYS[2])
local room_at = departures_allow(window, allowed, tonumber(ARGV[5]))
local slot = math.max(now, num(KEYS[1]), pause, room_at)
local paused = string.format('%.6f', math.max(0, pause - now))
local free_at = num(KEYS[4])
if free_at > slot then
  return {string.format('%.6f', free_at - now), 0, paused}
end
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl)
return {string.format('%.6f', slot - now), 1, paused}
"""
)

# KEYS: next, pause, sent, chat. ARGV: window, allowed, per_key, member, ttl ms, poll,
# in flight for. Returns {'0', now} when the send is in flight, {'-1', now} when the caller
# must take a new slot (paused, or the chat is not free), else {seconds until the window
# has room, now}.
_CONFIRM = (
    _NOW
    + """
local window, allowed = tonumber(ARGV[1]), tonumber(ARGV[2])
local per_key, ttl = tonumber(ARGV[3]), tonumber(ARGV[5])
local at = string.format('%.6f', now)
if num(KEYS[2]) > now or num(KEYS[4]) > now then
  return {'-1', at}
end
local room_at = departures_allow(window, allowed, tonumber(ARGV[6]))
if room_at > now then
  return {string.format('%.6f', room_at - now), at}
end
redis.call('ZADD', KEYS[3], string.format('%.6f', now + tonumber(ARGV[7])), ARGV[4])
redis.call('PEXPIRE', KEYS[3], ttl)
if per_key > 0 then
  redis.call('SET', KEYS[4], string.format('%.6f', now + per_key), 'PX',
    math.ceil(per_key * 1000) + 1000)
end
return {'0', at}
"""
)

# KEYS: sent. ARGV: member, ttl ms. A send made outside the limiter, or one in flight that
# was answered (the same member: it moves), counts from now.
_NOTE = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""
)

# KEYS: sent. ARGV: member, in flight for, ttl ms. Another lane's send is in flight from now;
# returns now.
_TAKE = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], string.format('%.6f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return string.format('%.6f', now)
"""
)

# KEYS: sent. ARGV: member, its time, the server's window. The departure is given back;
# returns how many departures of the window before it are left.
_GIVE_BACK = """
redis.call('ZREM', KEYS[1], ARGV[1])
local at = tonumber(ARGV[2])
return redis.call('ZCOUNT', KEYS[1], string.format('(%.6f', at - tonumber(ARGV[3])),
  string.format('%.6f', at))
"""

# KEYS: pause. ARGV: seconds. Returns the seconds left of the pause.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local seconds = tonumber(ARGV[1])
if seconds > 0 and now + seconds > current then
  current = now + seconds
  local ttl = math.ceil(seconds * 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.6f', current), 'PX', ttl)
end
return string.format('%.6f', math.max(0, current - now))
"""


class RedisRateLimiter(TwoStepLimiter):
    """``RateLimiter`` whose budget lives in Redis under ``prefix`` (one per bot)."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        rate: float,
        per_key_interval: float = 0.0,
        *,
        max_outage: float = 60.0,
        owns_client: bool = True,
    ) -> None:
        super().__init__(rate, per_key_interval)
        self._redis = redis
        self._prefix = prefix
        self._owns = owns_client
        self._max_outage = max_outage
        self._reserve_script = redis.register_script(_RESERVE)
        self._confirm_script = redis.register_script(_CONFIRM)
        self._pause_script = redis.register_script(_PAUSE)
        self._note_script = redis.register_script(_NOTE)
        self._give_back_script = redis.register_script(_GIVE_BACK)
        self._take_script = redis.register_script(_TAKE)
        # A 429 is honoured by this process even while Redis cannot record it.
        self._local_pause_until = 0.0
        self._seen_pause_until = 0.0  # the shared pause as of the last reservation
        # Keys live a little longer than anything they describe.
        self._ttl_ms = math.ceil((self.budget.window + 60.0) * 1000)

    @classmethod
    def from_url(
        cls, url: str, prefix: str, rate: float, per_key_interval: float = 0.0
    ) -> RedisRateLimiter:
        client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix, rate, per_key_interval)

    def _keys(self, key: str) -> list[str]:
        p = self._prefix
        return [f"{p}:next", f"{p}:pause", f"{p}:sent", f"{p}:chat:{key}"]

    async def _reserve(self, key: str) -> tuple[float, bool]:
        local = self._local_pause_until - time.monotonic()
        if local > 0:
            return local, False
        b = self.budget
        args = [b.interval, b.window, b.allowed, self._ttl_ms, b.poll]
        wait, taken, paused = await self._run(self._reserve_script, self._keys(key), args)
        self._seen_pause_until = time.monotonic() + float(paused)
        return max(0.0, float(wait)), bool(int(taken))

    async def _confirm(self, key: str) -> tuple[float, Departure]:
        b = self.budget
        member = uuid.uuid4().hex
        args = [b.window, b.allowed, b.per_key, member, self._ttl_ms, b.poll, IN_FLIGHT_FOR]
        room_in, at = await self._run(self._confirm_script, self._keys(key), args)
        return float(room_in), (member, float(at))

    async def sent(self, departure: Departure) -> None:
        """One try, no waiting out an outage: the send is made, a lost record only makes
        it count from ``IN_FLIGHT_FOR`` after its grant (already in the set)."""
        args: list[str | int] = [departure[0], self._ttl_ms]
        try:
            await self._note_script(keys=[f"{self._prefix}:sent"], args=args)
        except RedisError as exc:
            kind = type(exc).__name__
            log.warning("Rate limiter: a send's answer not recorded (%s: %s)", kind, exc)

    async def take(self) -> Departure:
        member = uuid.uuid4().hex
        args = [member, IN_FLIGHT_FOR, self._ttl_ms]
        at = await self._run(self._take_script, [f"{self._prefix}:sent"], args)
        return member, float(at)

    async def note(self) -> None:
        args = [uuid.uuid4().hex, self._ttl_ms]
        await self._run(self._note_script, [f"{self._prefix}:sent"], args)

    async def _give_back(self, departure: Departure) -> int:
        member, at = departure
        args = [member, at, SERVER_WINDOW]
        return int(await self._run(self._give_back_script, [f"{self._prefix}:sent"], args))

    async def pause(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self._local_pause_until = max(self._local_pause_until, time.monotonic() + seconds)
        if seconds > 0:
            left = await self._run(self._pause_script, [f"{self._prefix}:pause"], [seconds])
            self._seen_pause_until = time.monotonic() + float(left)

    async def paused_for(self) -> float:
        """The pause as last seen by this process (from its own 429s and its last
        reservation): no round trip, this is asked before every send."""
        until = max(self._local_pause_until, self._seen_pause_until)
        return max(until - time.monotonic(), 0.0)

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run ``script``; while Redis is unreachable wait and retry, up to ``max_outage``."""
        waited, delay = 0.0, 0.2
        while True:
            try:
                return await script(keys=keys, args=args)
            except RedisError as exc:
                if waited >= self._max_outage:
                    raise LimiterUnavailable(f"Redis unreachable for {waited:.0f} s") from exc
                log.warning(
                    "Rate limiter: Redis unreachable (%s: %s); retrying in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)
