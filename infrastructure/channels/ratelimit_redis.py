"""The rate limiter of ``ratelimit`` kept in Redis, shared by every worker process of a bot.

Each step (reserve, confirm, pause) is one Lua script, so it runs atomically in Redis
and reads Redis's own clock (``TIME``): workers on different machines need no clock
agreement. Keys (``<prefix>`` is ``<REDIS_KEY_PREFIX>:tg:<bot id>``):

* ``<prefix>:next``: the earliest time of the next global slot;
* ``<prefix>:pause``: the end of the pause after a 429;
* ``<prefix>:sent``: a sorted set of recent departures (score = time), pruned to the window;
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

from infrastructure.channels.ratelimit import Budget, LimiterUnavailable, TwoStepLimiter

log = logging.getLogger(__name__)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function num(key)
  return tonumber(redis.call('GET', key) or '0') or 0
end
-- earliest time the departures in the window allow another one (KEYS[3] the set)
local function departures_allow(window, allowed, min_gap)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.6f', now - window))
  local earliest = now
  local last = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if last[2] then
    earliest = math.max(earliest, tonumber(last[2]) + min_gap)
  end
  local n = redis.call('ZCARD', KEYS[3])
  if n >= allowed then
    local e = redis.call('ZRANGE', KEYS[3], n - allowed, n - allowed, 'WITHSCORES')
    earliest = math.max(earliest, tonumber(e[2]) + window)
  end
  return earliest
end
"""

# KEYS: next, pause, sent, chat. ARGV: interval, window, allowed, min_gap, ttl ms.
# Returns {seconds to sleep, 1 if a slot was taken else 0}.
_RESERVE = (
    _NOW
    + """
local interval, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local allowed, min_gap, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local slot = math.max(now, num(KEYS[1]), num(KEYS[2]), departures_allow(window, allowed, min_gap))
local free_at = num(KEYS[4])
if free_at > slot then
  return {string.format('%.6f', free_at - now), 0}
end
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl)
return {string.format('%.6f', slot - now), 1}
"""
)

# KEYS: next, pause, sent, chat. ARGV: window, allowed, min_gap, per_key, member, ttl ms.
# Returns 1 when the departure is recorded, 0 when the caller must take a new slot.
_CONFIRM = (
    _NOW
    + """
local window, allowed, min_gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local per_key, ttl = tonumber(ARGV[4]), tonumber(ARGV[6])
if num(KEYS[2]) > now or departures_allow(window, allowed, min_gap) > now
    or num(KEYS[4]) > now then
  return 0
end
redis.call('ZADD', KEYS[3], string.format('%.6f', now), ARGV[5])
redis.call('PEXPIRE', KEYS[3], ttl)
if per_key > 0 then
  redis.call('SET', KEYS[4], string.format('%.6f', now + per_key), 'PX',
    math.ceil(per_key * 1000) + 1000)
end
return 1
"""
)

# KEYS: pause. ARGV: seconds (0 = only read). Returns the seconds left of the pause.
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
        super().__init__(Budget.of(rate, per_key_interval))
        self._redis = redis
        self._prefix = prefix
        self._owns = owns_client
        self._max_outage = max_outage
        self._reserve_script = redis.register_script(_RESERVE)
        self._confirm_script = redis.register_script(_CONFIRM)
        self._pause_script = redis.register_script(_PAUSE)
        # A 429 is honoured by this process even while Redis cannot record it.
        self._local_pause_until = 0.0
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
        args = [b.interval, b.window, b.allowed, b.min_gap, self._ttl_ms]
        wait, taken = await self._run(self._reserve_script, self._keys(key), args)
        return max(0.0, float(wait)), bool(int(taken))

    async def _confirm(self, key: str) -> bool:
        b = self.budget
        member = uuid.uuid4().hex
        args = [b.window, b.allowed, b.min_gap, b.per_key, member, self._ttl_ms]
        return bool(int(await self._run(self._confirm_script, self._keys(key), args)))

    async def pause(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self._local_pause_until = max(self._local_pause_until, time.monotonic() + seconds)
        if seconds > 0:
            await self._run(self._pause_script, [f"{self._prefix}:pause"], [seconds])

    async def paused_for(self) -> float:
        remote = float(await self._run(self._pause_script, [f"{self._prefix}:pause"], [0]))
        return max(remote, self._local_pause_until - time.monotonic(), 0.0)

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
