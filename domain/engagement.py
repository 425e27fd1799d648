"""After sending: bounces, complaints, opens and clicks, as stored and as shown.

The ports here are what the bounce and tracking use cases need of storage, named by
capability; ``infrastructure.db.repositories.engagement`` implements both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
