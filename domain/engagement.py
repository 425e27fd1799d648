"""After sending: bounces, complaints, opens and clicks, as stored and as shown.

The ports here are what the bounce and tracking use cases need of storage, named by
capability; ``infrastructure.db.repositories.engagement`` implements both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.bounces import BounceReport, SoftStreak
from domain.mailings import Channel, Mailing
from domain.runs import DeliveryStatus, MailingRun


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
class ClickCount:
    """A person's clicks on one link of one delivery, counted in one batch."""

    run_id: int
    delivery_id: int
    index: int  # the link's index in the run's content
    count: int
    first_at: datetime


@dataclass(frozen=True, slots=True)
class FirstClicks:
    """What a batch of clicks did first: deliveries clicked for the first time at all,
    and (delivery, link) pairs clicked for the first time."""

    deliveries: frozenset[int]
    links: frozenset[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class LinkClicks:
    index: int
    url: str
    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent; ``None`` when there is no whole to speak of."""
    return 100.0 * part / whole if whole > 0 else None


@dataclass(frozen=True, slots=True)
class EngagementReport:
    """A run's opens, clicks and bounces, as its statistics screen shows them.

    Rates are of the recipients the run reached (``delivered``: bounces that came back
    later were already moved to refused), each recipient counted once. Only email counts
    opens (Telegram tells bots nothing), and only approximately: mail clients fetch
    images ahead of the reader (Apple Mail Privacy Protection) or block them."""

    mailing: Mailing
    run: MailingRun
    channel: Channel  # the channel the run was sent through
    engagement: RunEngagement
    links: list[LinkClicks]
    tracked: bool  # the mailing's tracking switch was on when the run was launched

    @property
    def delivered(self) -> int:
        return self.run.totals.delivered

    @property
    def counts_opens(self) -> bool:
        return self.channel is Channel.email

    @property
    def open_rate(self) -> float | None:
        return share(self.engagement.opened, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return share(self.engagement.clicked, self.delivered)

    @property
    def click_to_open(self) -> float | None:
        """Of those who opened, how many clicked (email)."""
        return share(self.engagement.clicked, self.engagement.opened)

    @property
    def bounces(self) -> int:
        e = self.engagement
        return e.bounced + e.soft_bounced + e.complained


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
