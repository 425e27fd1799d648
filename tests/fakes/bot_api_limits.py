"""Telegram's sending limits in the fake Bot API, and the bot's Star balance.

What Telegram documents, and the fake enforces:

* broadcasts: "no more than 30 messages per second"; faster, the API answers 429 with
  ``parameters.retry_after`` (https://core.telegram.org/bots/faq
  #my-bot-is-hitting-limits-how-do-i-avoid-this) — ``set_rate_limit``, off by default;
* ``allow_paid_broadcast`` (Bot API 7.11, https://core.telegram.org/bots/api#sendmessage):
  "up to 1000 messages per second ... for a fee of 0.1 Telegram Stars per message",
  withdrawn from the bot's balance, which ``getMyStarBalance`` answers as a ``StarAmount``
  (https://core.telegram.org/bots/api#getmystarbalance) — ``paid_limit``, ``stars``;
* one chat: "avoid sending more than one message per second", short bursts are tolerated;
  the limit holds for every message the bot sends there, replies and edits included —
  ``set_chat_flood``, off by default.

Assumptions (no source states them; each errs towards the stricter reading):

* the free 30/s counts the sends without the flag; the 1000/s counts every send;
* the fee is charged for a flagged send made while 30 or more sends already went out in
  the last second ("above the free amount"); a flagged send the balance cannot pay for
  is treated as an unflagged one (so it meets the free limit);
* a chat's burst is ``burst`` messages, refilled at ``per_second`` (a token bucket);
* ``deleteMessage`` (and ``deleteMessages``, an album's recall) counts like a send
  against the limits above (a recall of a broadcast
  deletes in every chat as fast as the broadcast sent).

``storm`` makes the fake answer every send (flagged or not) past ``per_second`` with 429
``retry_after``: a server whose real limit is lower than the bot believes.
"""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass
from typing import Any

from tests.fakes.bot_api_model import ApiError
from tests.fakes.bot_api_state import FakeState

COUNTED_LIKE_SENDS = frozenset({"deletemessage", "deletemessages"})
FREE_AMOUNT = 30  # messages a second that cost nothing
PAID_FEE_NANO = 100_000_000  # 0.1 Star in nanostars
NANO = 1_000_000_000


@dataclass
class ChatFlood:
    burst: int
    per_second: float
    retry_after: int


class LimitedState(FakeState):
    """``FakeState`` plus the limits above; the pipeline calls ``_check_rate`` before a
    send and ``_accept_send`` once it succeeded (``_check_edit`` / ``_accept_edit`` for
    edits, which only the per-chat limit concerns)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.send_times: list[float] = []  # monotonic times of accepted send calls
        self.edit_times: list[float] = []  # monotonic times of accepted edits
        self.send_arrivals: list[float] = []  # every send call that reached the rate check
        self.throttled: list[tuple[float, float]] = []  # (time, retry_after) of global 429s
        self.per_chat_limit: float | None = None  # a sliding 1-s window per chat, if set
        self.paid_limit: float = 1000.0
        self.stars = 0  # the bot's balance, in nanostars (see ``set_stars``)
        self.paid_sends = 0  # flagged sends accepted
        self.charged = 0  # nanostars withdrawn for them
        self._rate_limit: float | None = None
        self._rate_retry_after = 1
        self._storm: tuple[float, int] | None = None
        self._chat_flood: ChatFlood | None = None
        self._window: collections.deque[float] = collections.deque()  # free sends
        self._all_window: collections.deque[float] = collections.deque()  # every send
        self._storm_window: collections.deque[float] = collections.deque()
        self._chat_windows: dict[int, collections.deque[float]] = {}
        self._chat_tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)

    # ------------------------------------------------------------------ configuration
    def set_rate_limit(self, per_second: float | None, *, retry_after: int = 1) -> None:
        """Global sliding-window limit on sends without ``allow_paid_broadcast``."""
        self._rate_limit = per_second
        self._rate_retry_after = retry_after
        self._window.clear()

    def storm(self, per_second: float | None, *, retry_after: int = 3) -> None:
        """Every send past ``per_second`` (flagged or not) gets 429 ``retry_after``."""
        self._storm = None if per_second is None else (per_second, retry_after)
        self._storm_window.clear()

    def set_chat_flood(
        self, burst: int = 3, per_second: float = 1.0, *, retry_after: int = 1
    ) -> None:
        """Per-chat flood control on sends and edits (replies included)."""
        self._chat_flood = ChatFlood(burst, per_second, retry_after)
        self._chat_tokens.clear()

    def set_stars(self, stars: float) -> None:
        self.stars = round(stars * NANO)

    def m_getmystarbalance(self, p: dict[str, str], f: Any) -> Any:
        whole, nanos = divmod(self.stars, NANO)
        return {"amount": whole, "nanostar_amount": nanos}

    # ------------------------------------------------------------------ checks
    def _check_rate(self, chat_id: int | None, now: float, paid: bool = False) -> None:
        self.send_arrivals.append(now)
        if self._storm is not None:
            limit, wait = self._storm
            if _window_full(self._storm_window, limit, now):
                self._throttle(now, wait)
        paid = paid and self._can_pay(now)
        if paid:
            if _window_full(self._all_window, self.paid_limit, now):
                self._throttle(now, self._rate_retry_after)
        elif self._rate_limit is not None and _window_full(self._window, self._rate_limit, now):
            self._throttle(now, self._rate_retry_after)
        self._check_chat(chat_id, now)

    def _check_edit(self, chat_id: int | None, now: float) -> None:
        self._check_chat(chat_id, now)

    def _check_chat(self, chat_id: int | None, now: float) -> None:
        if chat_id is None:
            return
        if self.per_chat_limit is not None:
            window = self._chat_windows.setdefault(chat_id, collections.deque())
            if _window_full(window, self.per_chat_limit, now):
                raise ApiError(429, "Too Many Requests: retry after 1", 1)
        flood = self._chat_flood
        if flood is not None and self._chat_tokens_at(chat_id, now) < 1:
            wait = flood.retry_after
            raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    def _chat_tokens_at(self, chat_id: int, now: float) -> float:
        flood = self._chat_flood
        assert flood is not None
        tokens, at = self._chat_tokens.get(chat_id, (float(flood.burst), now))
        return min(float(flood.burst), tokens + (now - at) * flood.per_second)

    def _can_pay(self, now: float) -> bool:
        """A flagged send is paid for: free within the free amount, else if the balance
        holds the fee."""
        return self._in_last_second(self._all_window, now) < FREE_AMOUNT or (
            self.stars >= PAID_FEE_NANO
        )

    def _throttle(self, now: float, wait: int) -> None:
        self.throttled.append((now, float(wait)))
        raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    # ------------------------------------------------------------------ accounting
    def _accept_send(self, chat_id: int | None, now: float, paid: bool = False) -> None:
        self.send_times.append(now)
        paid = paid and self._can_pay(now)
        if paid:
            self.paid_sends += 1
            if self._in_last_second(self._all_window, now) >= FREE_AMOUNT:
                self.stars -= PAID_FEE_NANO
                self.charged += PAID_FEE_NANO
        elif self._rate_limit is not None:
            self._window.append(now)
        self._in_last_second(self._all_window, now)  # keeps it to the last second
        self._all_window.append(now)
        if self._storm is not None:
            self._storm_window.append(now)
        self._accept_edit(chat_id, now)

    def _accept_edit(self, chat_id: int | None, now: float) -> None:
        self.edit_times.append(now)
        if chat_id is None:
            return
        if self.per_chat_limit is not None:
            self._chat_windows.setdefault(chat_id, collections.deque()).append(now)
        if self._chat_flood is not None:
            self._chat_tokens[chat_id] = (self._chat_tokens_at(chat_id, now) - 1, now)

    def _in_last_second(self, window: collections.deque[float], now: float) -> int:
        while window and window[0] <= now - 1.0:
            window.popleft()
        return len(window)

    # ------------------------------------------------------------------ reports
    def rate_report(self, grace: float = 0.1) -> dict[str, Any]:
        """What the rate limit saw: accepted sends per whole second (since the first one)
        and in the busiest sliding 1-second window, the global 429s answered, and the send
        calls that arrived while a 429's ``retry_after`` still ran, later than ``grace``
        after it (requests already on the wire are excused)."""
        accepted = sorted(self.send_times)
        arrivals = sorted(self.send_arrivals)
        violations = 0
        for at, wait in self.throttled:
            lo = bisect.bisect_right(arrivals, at + grace)
            violations += max(0, bisect.bisect_left(arrivals, at + wait) - lo)
        first = accepted[0] if accepted else 0.0
        per_second = collections.Counter(int(t - first) for t in accepted)
        return {
            "accepted": len(accepted),
            "first": accepted[0] if accepted else None,
            "last": accepted[-1] if accepted else None,
            "per_second": [per_second[s] for s in range(max(per_second, default=-1) + 1)],
            "busiest_second": busiest_window(accepted),
            "throttled": len(self.throttled),
            "violations": violations,
        }


def busiest_window(times: list[float], span: float = 1.0) -> int:
    """The most of the sorted ``times`` inside any window ``span`` long."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _window_full(window: collections.deque[float], per_second: float, now: float) -> bool:
    """Sliding window: at most ``per_second`` sends per second (1 per 1/x s when x < 1)."""
    span = max(1.0, 1.0 / per_second) if per_second > 0 else float("inf")
    allowed = max(1, int(per_second * span)) if per_second > 0 else 0
    while window and window[0] <= now - span:
        window.popleft()
    return len(window) >= allowed
