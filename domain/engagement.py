"""After sending: bounces, complaints, opens and clicks, as stored and as shown.

The ports here are what the bounce and tracking use cases need of storage, named by
capability; ``infrastructure.db.repositories.engagement`` implements both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.bounces import BounceReport
from domain.runs import DeliveryStatus


@dataclass(frozen=True, slots=True)
class DeliveryRef:
    """What a bounce or a click needs to know of the delivery it names."""

    delivery_id: int
    run_id: int
    address_id: int
    status: DeliveryStatus
    updated_at: datetime | None  # when its status last changed (delivered: recorded)


@dataclass(frozen=True, slots=True)
class RunEngagement:
    """A run's totals after sending (``run_tracking``)."""

    opened: int = 0
    clicked: int = 0  # recipients who clicked at least once
    clicks: int = 0
    bot_clicks: int = 0
    bounced: int = 0  # delivered, then bounced: already moved to refused in the totals
    soft_bounced: int = 0
    complained: int = 0


@dataclass(frozen=True, slots=True)
class LinkClicks:
    index: int
    url: str
    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0


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

    async def add_soft_bounce(self, address_id: int) -> int:
        """One more soft bounce in a row for the address; how many it has now."""
        ...

    async def suppress(self, address_id: int, now: datetime) -> None: ...

    async def unsubscribe(self, address_id: int, now: datetime) -> None: ...


class TrackingStore(Protocol):
    async def delivery(self, delivery_id: int) -> DeliveryRef | None: ...

    async def run_content(self, run_id: int) -> dict[str, object] | None:
        """The run's frozen content (``RunContent.to_json``), ``None`` if the run is gone."""
        ...

    async def first_open(self, run_id: int, delivery_id: int, now: datetime) -> bool:
        """Count an open of the delivery; whether it is its first."""
        ...

    async def first_click(
        self, run_id: int, delivery_id: int, index: int, now: datetime
    ) -> tuple[bool, bool]:
        """Count a person's click; whether it is the delivery's first click at all, and its
        first on this link."""
        ...

    async def add_to_link(self, run_id: int, index: int, **counts: int) -> None: ...

    async def add_to_run(self, run_id: int, **counts: int) -> None:
        """Add to ``run_tracking`` (made on first use)."""
        ...

    async def reset_soft_bounces(self, address_id: int) -> None: ...

    async def engagement(self, run_id: int) -> RunEngagement: ...

    async def link_clicks(self, run_id: int) -> dict[int, LinkClicks]:
        """Per-link totals by index (``url`` left empty: it lives in the run's content)."""
        ...
