"""Typed recurring schedules become cron expressions, or a clear error."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.recurring_input import parse_recurring


@pytest.mark.parametrize(
    ("kind", "text", "cron"),
    [
        ("daily", "10:00", "0 10 * * *"),
        ("daily", "9.05", "5 9 * * *"),
        ("weekly", "пн,ср,пт 09:30", "30 9 * * 1,3,5"),
        ("weekly", "Mon Fri 18:00", "0 18 * * 1,5"),
        ("weekly", "будни 10:00", "0 10 * * 1,2,3,4,5"),
        ("weekly", "weekends 11:15", "15 11 * * 0,6"),
        ("monthly", "5 12:00", "0 12 5 * *"),
        ("cron", "0 10 * * 1-5", "0 10 * * 1-5"),
    ],
)
def test_recurring_input_becomes_cron(kind: str, text: str, cron: str) -> None:
    assert parse_recurring(kind, text) == cron


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("daily", "ten o'clock"),
        ("daily", "25:00"),
        ("weekly", "someday 10:00"),
        ("weekly", "10:00"),
        ("monthly", "first 10:00"),
        ("monthly", "40 10:00"),
        ("cron", "* * *"),
    ],
)
def test_bad_recurring_input_is_refused_with_a_key(kind: str, text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_recurring(kind, text)
    assert info.value.key.startswith("schedule-")
