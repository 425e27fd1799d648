"""Times as managers type them, quick choices, and simple recurring presets.

Everything is read in the manager's time zone and returned in UTC. Daylight saving
time follows one rule here and in the schedule calculator: a wall-clock time the clocks
skip (02:30 on a spring-forward night) means the moment of the jump, as cron does; a
time that happens twice (02:30 on a fall-back night) means its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

_EXAMPLE_FORMAT = "%d.%m.%Y %H:%M"
_SEP = r"(?:\s*,?\s*(?:в|at)?\s*)"
_TIME = r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})"
_YMD = r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
_DMY = r"(?P<d>\d{1,2})\.(?P<mo>\d{1,2})(?:\.(?P<y>\d{4}|\d{2}))?"
_DAY_WORDS = {
    "сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "послезавтра": 2,
    "day after tomorrow": 2,
}  # fmt: skip
_UNITS = {
    "minutes": "m|min|mins|minute|minutes|мин|минуту|минуты|минут",
    "hours": "h|hr|hrs|hour|hours|ч|час|часа|часов",
    "days": "d|day|days|день|дня|дней",
}
_PATTERNS = {
    "relative": re.compile(
        r"(?:через|in)\s+(?P<n>\d+|an?|один|одну)?\s*(?P<unit>"
        + "|".join(f"(?P<{name}>{alts})" for name, alts in _UNITS.items())
        + r")"
    ),
    "day_word": re.compile(rf"(?P<word>{'|'.join(_DAY_WORDS)}){_SEP}{_TIME}"),
    "iso": re.compile(rf"{_YMD}(?:t|{_SEP}){_TIME}"),
    "dotted": re.compile(rf"{_DMY}{_SEP}{_TIME}"),
    "slashed": re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?\b.*"),
    "time": re.compile(r"(?P<at>(?:в|at)\s*)?(?P<h>\d{1,2})(?P<sep>[:.])(?P<mi>\d{2})"),
}


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``tz`` as a UTC instant, by the module's DST rule."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first  # exists (fold=0 is the first of two in an overlap)
    # In a gap the two folds land either side of the jump: find its first second.
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = sorted((int(first.timestamp()), int(second.timestamp())))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def parse_local_datetime(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """Read ``01.12.2026 10:00``, ``2026-12-01T10:00``, ``завтра 10:00``, ``in 2 hours`` …

    Slashed dates (``12/01/2026``) are refused: day-first or month-first cannot be told.
    A bare ``10:00`` is the next such time (today or tomorrow); ``01.12 10:00`` is this
    year's, or next year's once it has passed. ``now`` is aware; the result is in UTC
    and must be after ``now``.
    """
    clean = " ".join(text.lower().replace("ё", "е").split()).strip(" .")
    local_now = now.astimezone(tz).replace(tzinfo=None)
    found = {name: p.fullmatch(clean) for name, p in _PATTERNS.items()}
    if found["slashed"]:
        raise InvalidInput("schedule-ambiguous-date", example=_example(tz, now))
    if m := found["relative"]:
        result = now.astimezone(UTC).replace(second=0, microsecond=0) + _delta(m)
    elif m := found["day_word"]:
        day = local_now.date() + timedelta(days=_DAY_WORDS[m["word"]])
        result = local_to_utc(datetime.combine(day, _time(m)), tz)
    elif m := found["iso"] or found["dotted"]:
        result = _dated(m, now, tz)
    elif (m := found["time"]) and not _maybe_date(m):
        today = datetime.combine(local_now.date(), _time(m))
        result = local_to_utc(today, tz)
        if result <= now:  # a bare time already gone today means tomorrow's
            result = local_to_utc(today + timedelta(days=1), tz)
    else:
        day = local_now.date() + timedelta(days=1)
        raise InvalidInput("schedule-unparseable", examples=f"{day:%d.%m.%Y} 10:00, {day} 10:00")
    if result <= now:
        raise InvalidInput("schedule-in-past", example=_example(tz, now))
    return result


def _maybe_date(m: re.Match[str]) -> bool:
    """A bare ``10.12`` may be 10 December without a time: refuse rather than guess."""
    return m["sep"] == "." and not m["at"] and 1 <= int(m["mi"]) <= 12


def _delta(m: re.Match[str]) -> timedelta:
    amount = int(m["n"]) if m["n"] and m["n"].isdigit() else 1
    unit = next(name for name in _UNITS if m[name])
    return timedelta(**{unit: amount})


def _time(m: re.Match[str]) -> time:
    hour, minute = int(m["h"]), int(m["mi"])
    if hour > 23 or minute > 59:
        raise InvalidInput("schedule-impossible-date", detail=f"{hour}:{minute:02d}")
    return time(hour, minute)


def _dated(m: re.Match[str], now: datetime, tz: ZoneInfo) -> datetime:
    at = _time(m)
    year_text = m["y"]
    year = int(year_text) if year_text else now.astimezone(tz).year
    year += 2000 if year_text and len(year_text) == 2 else 0
    day, month = int(m["d"]), int(m["mo"])
    for candidate in (year, year + 1):
        try:
            result = local_to_utc(datetime.combine(date(candidate, month, day), at), tz)
        except ValueError:
            raise InvalidInput(
                "schedule-impossible-date", detail=f"{day:02d}.{month:02d}.{candidate}"
            ) from None
        # Without a year the next such date is meant; with one, the past is reported later.
        if year_text or result > now:
            return result
    return result


def _example(tz: ZoneInfo, now: datetime) -> str:
    return _tomorrow_at_ten(tz, now).astimezone(tz).strftime(_EXAMPLE_FORMAT)


def _tomorrow_at_ten(tz: ZoneInfo, now: datetime) -> datetime:
    day = now.astimezone(tz).date() + timedelta(days=1)
    return local_to_utc(datetime.combine(day, time(10)), tz)


def quick_choices(tz: ZoneInfo, now: datetime) -> list[tuple[str, datetime]]:
    """Buttons: in an hour (rounded up to 5 minutes), tomorrow 10:00, next Monday 10:00.

    "Monday" is never today, so on a Monday it means the one a week ahead.
    """
    in_hour = now.astimezone(UTC) + timedelta(hours=1)
    rounded = in_hour.replace(second=0, microsecond=0)
    if rounded != in_hour or rounded.minute % 5:
        rounded += timedelta(minutes=5 - rounded.minute % 5)
    today = now.astimezone(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    return [
        ("schedule-quick-hour", rounded),
        ("schedule-quick-tomorrow", _tomorrow_at_ten(tz, now)),
        ("schedule-quick-monday", local_to_utc(datetime.combine(monday, time(10)), tz)),
    ]


# -- recurring presets (standard crontab: day of week 0 or 7 is Sunday) ----------------
MONTHLY_SAFE_DAY = 28  # later days skip the months that are shorter
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_weekdays(field: str) -> frozenset[int]:
    """The weekdays (0=Monday) a standard crontab day-of-week field selects.

    Accepts numbers 0–7, names ``sun``–``sat``, lists, ranges and steps (``1-5``,
    ``mon,fri``, ``*/2``); raises ``ValueError`` otherwise.
    """
    days: set[int] = set()
    for item in field.lower().split(","):
        base, slash, step_text = item.partition("/")
        if (slash and not step_text.isdigit()) or step_text == "0":
            raise ValueError(f"bad step in {item!r}")
        if base == "*":
            first, last = 0, 6
        else:
            start, dash, end = base.partition("-")
            first = _dow(start)
            last = _dow(end, is_end=True) if dash else first
        if first > last:
            raise ValueError(f"backward range {item!r}")
        days.update(range(first, last + 1, int(step_text or 1)))
    return frozenset((day + 6) % 7 for day in days)


def _dow(text: str, *, is_end: bool = False) -> int:
    if text in _DOW_NAMES:
        # "mon-sun" means the whole week, as in cronie, not an empty backward range
        return 7 if is_end and text == "sun" else _DOW_NAMES.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"bad day of week {text!r}")


def preset_cron(
    kind: str, *, hour: int, minute: int, weekdays: list[int] | None = None, day: int | None = None
) -> str:
    """A standard 5-field cron for ``daily``, ``weekly`` (weekdays, 0=Monday) or ``monthly``.

    A monthly day of 29–31 is allowed; the months without that day are skipped
    (warn with ``schedule-monthly-short-months`` when ``day > MONTHLY_SAFE_DAY``).
    """
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InvalidInput("schedule-bad-preset", detail=f"time {hour}:{minute:02d}")
    if kind == "daily" and weekdays is None and day is None:
        return f"{minute} {hour} * * *"
    if kind == "weekly" and weekdays and day is None and all(0 <= d <= 6 for d in weekdays):
        days = sorted({(d + 1) % 7 for d in weekdays})  # crontab counts from Sunday=0
        return f"{minute} {hour} * * {','.join(map(str, days))}"
    if kind == "monthly" and weekdays is None and day is not None and 1 <= day <= 31:
        return f"{minute} {hour} {day} * *"
    raise InvalidInput("schedule-bad-preset", detail=f"{kind} weekdays={weekdays} day={day}")


_WORDS = {
    "ru": {
        "daily": "каждый день в {at}", "monthly": "каждый месяц {day}-го числа в {at}",
        "weekly": "по {days} в {at}", "weekdays": "по будням в {at}",
        "weekends": "по выходным в {at}", "and": " и ",
        "names": "понедельникам вторникам средам четвергам пятницам субботам воскресеньям",
    },
    "en": {
        "daily": "every day at {at}", "monthly": "monthly on day {day} at {at}",
        "weekly": "every {days} at {at}", "weekdays": "every weekday at {at}",
        "weekends": "every Saturday and Sunday at {at}", "and": " and ",
        "names": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    },
}  # fmt: skip


def describe_cron(expr: str, lang: str) -> str | None:
    """Words for the presets (``каждый день в 10:00``); ``None`` for anything else."""
    words = _WORDS.get(lang, _WORDS["ru"])
    fields = expr.split()
    if len(fields) != 5 or fields[3] != "*" or not (fields[0] + fields[1]).isdigit():
        return None
    minute, hour, dom, dow = int(fields[0]), int(fields[1]), fields[2], fields[4]
    if minute > 59 or hour > 23:
        return None
    at = f"{hour:02d}:{minute:02d}"
    if dom != "*":
        ok = dow == "*" and dom.isdigit() and 1 <= int(dom) <= 31
        return words["monthly"].format(day=int(dom), at=at) if ok else None
    try:
        days = sorted(cron_weekdays(dow))
    except ValueError:
        return None
    key = "weekly"
    if len(days) == 7:
        key = "daily"
    elif days in ([0, 1, 2, 3, 4], [5, 6]):
        key = "weekdays" if len(days) == 5 else "weekends"
    names = [words["names"].split()[d] for d in days]
    listed = ", ".join(names[:-1]) + words["and"] + names[-1] if len(names) > 1 else names[0]
    return words[key].format(days=listed, at=at)
