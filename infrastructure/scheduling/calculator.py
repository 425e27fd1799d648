"""Fire times of mailing schedules: one-off, or a standard crontab in the manager's zone.

APScheduler 3's ``CronTrigger`` matches the fields, but two of its habits differ from
cron and are corrected here:

* its day-of-week numbers start at Monday=0 (crontab: Sunday=0, see
  https://github.com/agronholm/apscheduler/issues/286), so the field is translated;
* it ANDs a restricted day-of-month with a restricted day-of-week, where cron ORs them
  (``0 10 1 * 1``: the 1st *and* every Monday), so such an expression becomes an
  ``OrTrigger``.

DST: the trigger runs on naive wall-clock time (in UTC, which has no DST), and each wall
time becomes an instant by ``domain.schedule_input.local_to_utc``: a skipped time (02:30
on a spring-forward night) fires at the jump (03:00 new time), as cron does; a repeated
time fires once, at its first occurrence. So every wall-clock slot fires exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from domain.errors import InvalidInput
from domain.mailings import Schedule, ScheduleKind
from domain.schedule_input import cron_weekdays, local_to_utc

CRON_EXAMPLE = "0 10 * * 1-5"
_PREVIEW = 50  # fire times checked for a too-short interval
_EXAMPLE_FORMAT = "%d.%m.%Y %H:%M"


class CronScheduleCalculator:
    """``domain.ports.schedules.ScheduleCalculator`` on APScheduler 3's cron field matching.

    Naive datetimes (SQLite hands them back) are taken as UTC. ``ends_at`` is inclusive.
    """

    def __init__(self, min_interval: timedelta = timedelta(hours=1)) -> None:
        self._min_interval = min_interval

    def validate(self, schedule: Schedule, now: datetime) -> None:
        now = _as_utc(now)
        if schedule.kind is ScheduleKind.none:
            return
        tz = _zone(schedule.timezone)
        if schedule.kind is ScheduleKind.once:
            if schedule.run_at is None:
                raise InvalidInput("schedule-incomplete")
            if _as_utc(schedule.run_at) <= now:
                raise InvalidInput("schedule-in-past", example=_tomorrow_at_ten(tz, now))
            return
        if schedule.max_runs is not None and schedule.max_runs < 1:
            raise InvalidInput("schedule-bad-max-runs", value=schedule.max_runs)
        times = _fire_times(_trigger(schedule.cron), tz, now, _PREVIEW)
        if not times:
            raise InvalidInput("schedule-cron-never", example=CRON_EXAMPLE)
        if schedule.ends_at is not None and _as_utc(schedule.ends_at) < times[0]:
            first = times[0].astimezone(tz).strftime(_EXAMPLE_FORMAT)
            raise InvalidInput("schedule-ends-before-start", first=first)
        if any(later - earlier < self._min_interval for earlier, later in pairwise(times)):
            minutes = int(self._min_interval.total_seconds() // 60)
            raise InvalidInput("schedule-too-frequent", minutes=minutes, example="0 10 * * *")

    def next_times(
        self, schedule: Schedule, after: datetime, count: int, until: datetime | None = None
    ) -> list[datetime]:
        after = _as_utc(after)
        if until is not None:
            until = _as_utc(until)
        if schedule.max_runs is not None:
            count = min(count, schedule.max_runs)
        if count < 1:
            return []
        if schedule.kind is ScheduleKind.once:
            run_at = schedule.run_at and _as_utc(schedule.run_at)
            if run_at is None or run_at <= after or (until is not None and run_at > until):
                return []
            return [run_at]
        if schedule.kind is ScheduleKind.none:
            return []
        if schedule.ends_at is not None:
            ends_at = _as_utc(schedule.ends_at)
            until = ends_at if until is None else min(until, ends_at)
        return _fire_times(_trigger(schedule.cron), _zone(schedule.timezone), after, count, until)


def _fire_times(
    trigger: Any, tz: ZoneInfo, after: datetime, count: int, until: datetime | None = None
) -> list[datetime]:
    """Instants strictly after ``after``; wall times that map to one instant fire once."""
    # Wall times before after's own never map past it: local_to_utc is monotonic.
    cursor = after.astimezone(tz).replace(tzinfo=UTC)
    found: list[datetime] = []
    while len(found) < count:
        wall = trigger.get_next_fire_time(None, cursor)
        if wall is None:
            break
        instant = local_to_utc(wall.replace(tzinfo=None), tz)
        if until is not None and instant > until:
            break
        if instant > after and (not found or instant > found[-1]):
            found.append(instant)
        cursor = wall + timedelta(seconds=1)
    return found


def _trigger(expr: str | None) -> Any:
    """A UTC-zoned trigger matching the crontab ``expr`` on wall-clock time."""
    fields = (expr or "").split()
    try:
        if len(fields) != 5:
            raise ValueError(
                f"expected 5 fields (minute hour day month weekday), got {len(fields)}"
            )
        minute, hour, day, month, dow = fields
        weekdays = cron_weekdays(dow)
        aps_dow = "*" if len(weekdays) == 7 else ",".join(map(str, sorted(weekdays)))

        def make(day: str, day_of_week: str) -> CronTrigger:
            return CronTrigger(
                minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                timezone=UTC,
            )  # fmt: skip

        # cron's rule: a field starting with "*" does not restrict (even "*/2").
        if not day.startswith("*") and not dow.startswith("*"):
            return OrTrigger([make(day, "*"), make("*", aps_dow)])
        return make(day, aps_dow)
    except ValueError as error:
        raise InvalidInput(
            "schedule-cron-invalid", example=CRON_EXAMPLE, detail=str(error)
        ) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("schedule-bad-timezone", timezone=name) from None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _tomorrow_at_ten(tz: ZoneInfo, now: datetime) -> str:
    day = now.astimezone(tz).date() + timedelta(days=1)
    return f"{day:%d.%m.%Y} 10:00"
