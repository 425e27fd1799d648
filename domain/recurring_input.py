"""What a manager types for a recurring schedule, turned into a 5-field cron expression.

daily:    "10:00"
weekly:   "пн,ср,пт 09:30" / "mon wed fri 9:30" / "будни 10:00" / "weekdays 10:00"
monthly:  "5 12:00" (day of month, then time)
cron:     "0 10 * * 1-5"
"""

from __future__ import annotations

import re

from domain.errors import InvalidInput
from domain.schedule_input import preset_cron

_TIME = re.compile(r"(\d{1,2})[:.](\d{2})$")
_DAYS = {
    **dict.fromkeys(("пн", "понедельник", "mon", "monday"), 0),
    **dict.fromkeys(("вт", "вторник", "tue", "tuesday"), 1),
    **dict.fromkeys(("ср", "среда", "wed", "wednesday"), 2),
    **dict.fromkeys(("чт", "четверг", "thu", "thursday"), 3),
    **dict.fromkeys(("пт", "пятница", "fri", "friday"), 4),
    **dict.fromkeys(("сб", "суббота", "sat", "saturday"), 5),
    **dict.fromkeys(("вс", "воскресенье", "sun", "sunday"), 6),
}
_GROUPS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(("будни", "weekdays"), (0, 1, 2, 3, 4)),
    **dict.fromkeys(("выходные", "weekends"), (5, 6)),
}
EXAMPLES = {
    "daily": "10:00",
    "weekly": "пн,ср,пт 09:30 / mon,wed,fri 09:30",
    "monthly": "5 12:00",
    "cron": "0 10 * * 1-5",
}


def _time(text: str, kind: str) -> tuple[int, int]:
    match = _TIME.match(text.strip())
    if match is None:
        raise InvalidInput("schedule-recurring-unparseable", example=EXAMPLES[kind])
    return int(match.group(1)), int(match.group(2))


def parse_recurring(kind: str, text: str) -> str:
    """The cron expression for ``kind`` (daily, weekly, monthly, cron) from ``text``."""
    text = " ".join(text.lower().replace(",", " ").split())
    if kind == "cron":
        if len(text.split()) != 5:
            raise InvalidInput("schedule-recurring-unparseable", example=EXAMPLES["cron"])
        return text
    if kind == "daily":
        hour, minute = _time(text, kind)
        return preset_cron("daily", hour=hour, minute=minute)
    head, _, last = text.rpartition(" ")
    if not head:
        raise InvalidInput("schedule-recurring-unparseable", example=EXAMPLES.get(kind, ""))
    hour, minute = _time(last, kind)
    if kind == "weekly":
        days: list[int] = []
        for word in head.split():
            if word in _GROUPS:
                days += _GROUPS[word]
            elif word in _DAYS:
                days.append(_DAYS[word])
            else:
                raise InvalidInput("schedule-recurring-unparseable", example=EXAMPLES["weekly"])
        return preset_cron("weekly", hour=hour, minute=minute, weekdays=sorted(set(days)))
    if kind == "monthly" and head.isdigit():
        return preset_cron("monthly", hour=hour, minute=minute, day=int(head))
    raise InvalidInput("schedule-recurring-unparseable", example=EXAMPLES.get(kind, ""))
