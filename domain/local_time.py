"""Sending "at 10:00 in each recipient's time zone", and quiet hours.

A recipient's zone comes from a field: an IANA name (``Europe/Berlin``), a UTC offset
(``+3``, ``UTC+03:00``, ``GMT-5``) or a city this module knows (``CITY_ZONES``, English
and Russian names); without one, the mailing's default zone. At launch each distinct value
of the field gets its release instant (``releases``): the next ``at`` o'clock in its zone
after the launch, DST-correct (``zoneinfo``; a time skipped by a spring-forward change
is sent at the same wall-clock distance after the change, an ambiguous one at its first
occurrence). Quiet hours move a release that falls inside them to their end. The run's
snapshot writes each recipient's release into the queue (``deliveries.next_attempt_at``),
so it is stored once, in the database, and no worker claims a row before its time,
whatever restarts or instances.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from domain.errors import InvalidInput

MAX_ZONE_VALUES = 1000  # distinct values of a zone field looked up at launch
LOCAL_TIME = "local_time"  # the mailing option that holds a ``LocalTime``

CITY_ZONES = {
    "moscow": "Europe/Moscow", "москва": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow", "st. petersburg": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow", "петербург": "Europe/Moscow",
    "kazan": "Europe/Moscow", "казань": "Europe/Moscow",
    "nizhny novgorod": "Europe/Moscow", "нижний новгород": "Europe/Moscow",
    "samara": "Europe/Samara", "самара": "Europe/Samara",
    "yekaterinburg": "Asia/Yekaterinburg", "екатеринбург": "Asia/Yekaterinburg",
    "chelyabinsk": "Asia/Yekaterinburg", "челябинск": "Asia/Yekaterinburg",
    "omsk": "Asia/Omsk", "омск": "Asia/Omsk",
    "novosibirsk": "Asia/Novosibirsk", "новосибирск": "Asia/Novosibirsk",
    "krasnoyarsk": "Asia/Krasnoyarsk", "красноярск": "Asia/Krasnoyarsk",
    "irkutsk": "Asia/Irkutsk", "иркутск": "Asia/Irkutsk",
    "vladivostok": "Asia/Vladivostok", "владивосток": "Asia/Vladivostok",
    "kaliningrad": "Europe/Kaliningrad", "калининград": "Europe/Kaliningrad",
    "minsk": "Europe/Minsk", "минск": "Europe/Minsk",
    "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv", "киев": "Europe/Kyiv",
    "almaty": "Asia/Almaty", "алматы": "Asia/Almaty",
    "tashkent": "Asia/Tashkent", "ташкент": "Asia/Tashkent",
    "tbilisi": "Asia/Tbilisi", "тбилиси": "Asia/Tbilisi",
    "yerevan": "Asia/Yerevan", "ереван": "Asia/Yerevan",
    "istanbul": "Europe/Istanbul", "стамбул": "Europe/Istanbul",
    "london": "Europe/London", "лондон": "Europe/London",
    "berlin": "Europe/Berlin", "берлин": "Europe/Berlin",
    "paris": "Europe/Paris", "париж": "Europe/Paris",
    "madrid": "Europe/Madrid", "rome": "Europe/Rome", "рим": "Europe/Rome",
    "warsaw": "Europe/Warsaw", "prague": "Europe/Prague", "vienna": "Europe/Vienna",
    "dubai": "Asia/Dubai", "дубай": "Asia/Dubai",
    "delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "beijing": "Asia/Shanghai", "shanghai": "Asia/Shanghai", "пекин": "Asia/Shanghai",
    "tokyo": "Asia/Tokyo", "токио": "Asia/Tokyo",
    "singapore": "Asia/Singapore", "sydney": "Australia/Sydney",
    "new york": "America/New_York", "нью-йорк": "America/New_York",
    "chicago": "America/Chicago", "denver": "America/Denver",
    "los angeles": "America/Los_Angeles", "лос-анджелес": "America/Los_Angeles",
    "toronto": "America/Toronto", "mexico city": "America/Mexico_City",
    "são paulo": "America/Sao_Paulo", "sao paulo": "America/Sao_Paulo",
}  # fmt: skip

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")
_IANA = {name.casefold(): name for name in available_timezones()}


def zone_of(value: str | None) -> tzinfo | None:
    """The zone a field's value names, or None when it names none."""
    text = (value or "").strip().casefold()
    if not text:
        return None
    if text in ("utc", "gmt", "z"):
        return UTC
    if text in _IANA:
        return ZoneInfo(_IANA[text])
    if text in CITY_ZONES:
        return ZoneInfo(CITY_ZONES[text])
    found = _OFFSET.match(text)
    if found is not None:
        sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    return None


def parse_zone(text: str) -> str:
    """A default zone typed by a manager: its IANA name (offsets and cities are for the
    recipients' fields); ``InvalidInput`` if no such zone exists."""
    name = _IANA.get(text.strip().casefold())
    if name is None:
        raise InvalidInput("local-zone-unknown", zone=text.strip()[:60])
    return name


def parse_clock(text: str) -> time:
    found = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", text)
    if found is None or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise InvalidInput("local-time-invalid", value=text.strip()[:20])
    return time(int(found.group(1)), int(found.group(2)))


def parse_quiet(text: str) -> tuple[time, time] | None:
    """``22:00-09:00`` (crossing midnight or not); ``-`` for none."""
    if text.strip() == "-":
        return None
    parts = re.split(r"\s*[-–—]\s*", text.strip())
    if len(parts) != 2:
        raise InvalidInput("local-quiet-invalid", value=text.strip()[:30])
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise InvalidInput("local-quiet-invalid", value=text.strip()[:30])
    return start, end


@dataclass(frozen=True, slots=True)
class LocalTime:
    """``at`` o'clock in each recipient's zone (None: as soon as launched, quiet hours
    apart); the zone from ``field`` (None: everyone in ``default_zone``)."""

    default_zone: str
    at: time | None = None
    field: str | None = None
    quiet: tuple[time, time] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "default_zone": self.default_zone,
            "at": self.at.strftime("%H:%M") if self.at else None,
            "field": self.field,
            "quiet": [q.strftime("%H:%M") for q in self.quiet] if self.quiet else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LocalTime | None:
        if not data:
            return None
        quiet = data.get("quiet")
        return cls(
            default_zone=str(data["default_zone"]),
            at=time.fromisoformat(data["at"]) if data.get("at") else None,
            field=data.get("field"),
            quiet=(time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])) if quiet else None,
        )


@dataclass(frozen=True, slots=True)
class Release:
    """When each recipient's delivery may go: by the folded value of ``field``, else
    ``default``."""

    field: str | None
    by_value: dict[str, datetime]
    default: datetime


def next_release(
    at: time | None, zone: tzinfo, now: datetime, quiet: tuple[time, time] | None
) -> datetime:
    """The first moment at or after ``now`` that is ``at`` o'clock in ``zone`` (``now``
    itself without ``at``), moved out of the quiet hours; in UTC."""
    local_now = now.astimezone(zone)
    if at is None:
        moment = local_now
    else:
        moment = _wall(local_now.date(), at, zone)
        if moment < now:
            moment = _wall(local_now.date() + timedelta(days=1), at, zone)
    return quiet_end(moment, zone, quiet).astimezone(UTC)


def quiet_end(moment: datetime, zone: tzinfo, quiet: tuple[time, time] | None) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (local to ``zone``)."""
    if quiet is None:
        return moment
    start, end = quiet
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return moment
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return _wall(day, end, zone)


def _wall(day: date, at: time, zone: tzinfo) -> datetime:
    """``day`` at ``at`` in ``zone`` as an aware instant; across a DST gap the instant
    is normalised through UTC (zoneinfo keeps fold=0: the first of two ambiguous times)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def releases(local: LocalTime, values: Iterable[str], now: datetime) -> Release:
    """Each distinct field value's release instant (values naming no zone get the
    default's, as recipients without a value do)."""
    default_zone = ZoneInfo(local.default_zone)
    default = next_release(local.at, default_zone, now, local.quiet)
    by_value: dict[str, datetime] = {}
    for value in values:
        zone = zone_of(value)
        if zone is not None:
            by_value[value.strip().casefold()] = next_release(local.at, zone, now, local.quiet)
    return Release(local.field, by_value, default)
