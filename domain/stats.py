"""What statistics and exports show: read models built from the run totals, the per-minute
aggregate (``run_minutes``) and, for details only, the per-recipient deliveries.

Counts and charts never depend on delivery rows, which a retention job may remove; the
failure reasons and the per-recipient export do, and say so when the rows are gone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from domain.ab_test import letter
from domain.mailings import Channel, Mailing
from domain.runs import MailingRun


class ExportFormat(enum.StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class Period(enum.StrEnum):
    day = "day"
    week = "week"
    month = "month"


PERIODS: dict[Period, timedelta] = {
    Period.day: timedelta(days=1),
    Period.week: timedelta(days=7),
    Period.month: timedelta(days=30),
}


@dataclass(frozen=True, slots=True)
class Sends:
    """Final results counted over some span (a minute, a day, a period)."""

    delivered: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.failed + self.refused

    def __add__(self, other: Sends) -> Sends:
        return Sends(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.refused + other.refused,
        )


@dataclass(frozen=True, slots=True)
class MinuteSends:
    minute: datetime  # UTC, start of the minute
    sends: Sends


@dataclass(frozen=True, slots=True)
class FailureReason:
    status: str  # failed | refused
    error: str  # the kind (domain.failures); empty when the channel gave no reason
    count: int


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run of a mailing: counts from the run's totals, rate from ``run_minutes``."""

    mailing: Mailing
    run: MailingRun
    rate: list[MinuteSends]
    reasons: list[FailureReason]
    details_removed: bool  # the delivery rows are gone (retention): no reasons, no export
    # Delivered after an attempt whose answer was lost (a 5xx, a worker lost mid-send):
    # those recipients may have the message twice (the at-least-once cost).
    possibly_twice: int = 0


@dataclass(frozen=True, slots=True)
class DaySends:
    day: datetime  # midnight in the time zone statistics are shown in (or a UTC hour)
    channel: Channel
    sends: Sends


def local_days(hours: list[DaySends], tz: tzinfo) -> list[DaySends]:
    """Sends per UTC hour summed into the days of ``tz``, oldest first."""
    days: dict[tuple[datetime, Channel], Sends] = {}
    for hour in hours:
        local = hour.day.astimezone(tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
        key = (midnight, hour.channel)
        days[key] = days.get(key, Sends()) + hour.sends
    return [DaySends(day, channel, sends) for (day, channel), sends in sorted(days.items())]


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    """Sends per channel over the last day, week and month (admins' ``/stats``)."""

    until: datetime
    periods: dict[Period, dict[Channel, Sends]]
    daily: list[DaySends] = field(default_factory=list)  # the last month, for the chart
    with_tests: bool = False  # test sends counted too (left out unless asked for)


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One recipient of a run in the per-recipient report."""

    delivery_id: int
    address: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    updated_at: datetime | None
    # After sending (domain.engagement): the bounce that says most (hard, complaint, the
    # latest soft), the first open, the person's clicks (scanners' not counted).
    bounce: str | None = None
    bounce_reason: str | None = None
    opened_at: datetime | None = None
    clicks: int = 0
    variant: int | None = None  # an A/B test's (0 = A); None: no test, or not sent yet
    # Telegram follow-ups (domain.follow_ups): what the latest recall did to this
    # recipient's copy (``RECALL_STATES``), and the answer button they pressed (its
    # number, and its label as the report shows it).
    recall: str | None = None
    answer_option: int | None = None
    answer: str | None = None
    possibly_twice: bool = False  # delivered after an attempt whose answer was lost

    @property
    def variant_name(self) -> str:
        """ "A"…"D", or empty."""
        return "" if self.variant is None else letter(self.variant)


# A recipient's copy after a recall: deleted, kept (older than 48 hours), not deleted
# (Telegram refused), or still being deleted.
RECALL_STATES = ("deleted", "kept", "not deleted", "deleting")
EXPORT_COLUMNS = (
    "address",
    "channel",
    "status",
    "attempts",
    "last_error",
    "time_utc",
    "bounce",
    "bounce_reason",
    "opened_utc",
    "clicks",
    "variant",
    "recall",
    "answer",
    "possibly_sent_twice",
)
