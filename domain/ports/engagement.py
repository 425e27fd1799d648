"""Opens, clicks and bounces as they are counted: the write side the unit of work carries
(``uow.tracking``, ``uow.bounces``: ``usecases.tracking``, ``bounces``), and the chart of
clicks per link (``handlers/stats_engagement.py``); the read side is
``domain.ports.stats.EngagementReader``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from domain.bounces import BounceReport, SoftStreak
from domain.engagement import ClickCount, DeliveryRef, FirstClicks, LinkClicks


class EngagementChart(Protocol):
    """Draws clicks per link as a PNG, in a thread. ``labels`` carries the chart's texts
    in the reader's language (keys: per_link, people, clicks, no_clicks)."""

    async def link_chart(
        self, links: Sequence[LinkClicks], labels: Mapping[str, str]
    ) -> bytes: ...


class BounceStore(Protocol):
    async def record(self, report: BounceReport, target: DeliveryRef | None) -> bool:
        """Keep the message's report; ``False`` if the same message was recorded before
        (then nothing else may be done with it)."""
        ...

    async def seen(self, delivery_id: int, kinds: tuple[str, ...], key: str) -> bool:
        """Whether another message (not ``key``) of one of ``kinds`` named the delivery."""
        ...

    async def refuse(self, target: DeliveryRef, reason: str, now: datetime) -> bool:
        """A delivered delivery becomes refused with ``reason`` and its run's totals move
        (delivered - 1, refused + 1); ``False`` if it was not delivered."""
        ...

    async def note(self, delivery_id: int, reason: str) -> None:
        """Keep ``reason`` as the delivery's last error; its status stays."""
        ...

    async def soft_streak(self, address_id: int) -> SoftStreak: ...

    async def set_soft_streak(self, address_id: int, streak: SoftStreak) -> None: ...

    async def got_through(self, address_id: int, after_run: int, before_run: int) -> bool:
        """Whether a run strictly between the two delivered to the address and no bounce
        came back for it (the mail got through)."""
        ...

    async def suppress(self, address_id: int, now: datetime) -> None: ...

    async def unsubscribe(self, address_id: int, now: datetime) -> None: ...


class TrackingStore(Protocol):
    async def delivery(self, delivery_id: int) -> DeliveryRef | None: ...

    async def deliveries(self, delivery_ids: Collection[int]) -> dict[int, DeliveryRef]:
        """Those of the ids that still exist (retention removes old ones)."""
        ...

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        """The run's frozen content (``RunContent.to_json``), ``None`` if the run is gone."""
        ...

    async def first_open(self, run_id: int, delivery_id: int, now: datetime) -> bool:
        """Count an open of the delivery; whether it is its first."""
        ...

    async def add_clicks(self, counts: Sequence[ClickCount]) -> FirstClicks:
        """Count people's clicks per delivery and per link, a few statements for the whole
        batch (never one per click); which of them came first."""
        ...

    async def add_to_link(self, run_id: int, index: int, **counts: int) -> None: ...

    async def add_to_run(self, run_id: int, **counts: int) -> None:
        """Add to ``run_tracking`` (made on first use)."""
        ...

    async def reset_soft_bounces(self, address_ids: Collection[int]) -> None:
        """An open or a click showed the mailboxes work: their soft bounce streaks end."""
        ...
