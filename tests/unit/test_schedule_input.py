"""Typed dates and times, quick choices and cron presets, in the manager's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidInput
from domain.schedule_input import (
    cron_weekdays,
    describe_cron,
    local_to_utc,
    parse_local_datetime,
    preset_cron,
    quick_choices,
)

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3, no DST
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 15, 7, 17, 42, tzinfo=UTC)  # Monday 10:17:42 in Moscow


def msk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01.12.2026 10:00", msk(2026, 12, 1, 10, 0)),
        ("1.12.2026 10:00", msk(2026, 12, 1, 10, 0)),
        ("01.12.26 10:00", msk(2026, 12, 1, 10, 0)),
        ("01.12.2026, 10:00", msk(2026, 12, 1, 10, 0)),
        ("01.12.2026 в 10.00", msk(2026, 12, 1, 10, 0)),
        ("1.12.2026 9:05", msk(2026, 12, 1, 9, 5)),
        ("01.12 10:00", msk(2026, 12, 1, 10, 0)),
        ("10.06 10:00", msk(2027, 6, 10, 10, 0)),  # already past this year: next year
        ("15.06 10:30", msk(2026, 6, 15, 10, 30)),  # later today
        ("2026-12-01 10:00", msk(2026, 12, 1, 10, 0)),
        ("2026-12-01T10:00", msk(2026, 12, 1, 10, 0)),
        ("завтра 10:00", msk(2026, 6, 16, 10, 0)),
        ("Завтра в 10:00", msk(2026, 6, 16, 10, 0)),
        ("tomorrow 10:00", msk(2026, 6, 16, 10, 0)),
        ("Tomorrow at 9.05", msk(2026, 6, 16, 9, 5)),
        ("сегодня 18:30", msk(2026, 6, 15, 18, 30)),
        ("today 18:30", msk(2026, 6, 15, 18, 30)),
        ("послезавтра 10:00", msk(2026, 6, 17, 10, 0)),
        ("day after tomorrow 10:00", msk(2026, 6, 17, 10, 0)),
        ("через 2 часа", msk(2026, 6, 15, 12, 17)),
        ("in 2 hours", msk(2026, 6, 15, 12, 17)),
        ("через 30 минут", msk(2026, 6, 15, 10, 47)),
        ("in 30 minutes", msk(2026, 6, 15, 10, 47)),
        ("через час", msk(2026, 6, 15, 11, 17)),
        ("in an hour", msk(2026, 6, 15, 11, 17)),
        ("через 1 минуту", msk(2026, 6, 15, 10, 18)),
        ("in 5 min", msk(2026, 6, 15, 10, 22)),
        ("через 2 дня", msk(2026, 6, 17, 10, 17)),
        ("in 1 day", msk(2026, 6, 16, 10, 17)),
        ("  ЗАВТРА   10:00.  ", msk(2026, 6, 16, 10, 0)),
        ("18:30", msk(2026, 6, 15, 18, 30)),  # a bare time later today
        ("10:00", msk(2026, 6, 16, 10, 0)),  # a bare time already past: tomorrow
        ("10.00", msk(2026, 6, 16, 10, 0)),
        ("9:05", msk(2026, 6, 16, 9, 5)),
        ("в 10.12", msk(2026, 6, 16, 10, 12)),
        ("at 18:30", msk(2026, 6, 15, 18, 30)),
    ],
)
def test_reads_russian_and_english_forms_in_the_managers_zone(
    text: str, expected: datetime
) -> None:
    result = parse_local_datetime(text, MOSCOW, NOW)
    assert result == expected
    assert result.tzinfo is UTC


def error_of(text: str, tz: ZoneInfo = MOSCOW, now: datetime = NOW) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_local_datetime(text, tz, now)
    return caught.value


@pytest.mark.parametrize(
    "text",
    ["", "blah", "10.12", "01.12.2026", "завтра", "tomorrow", "через", "через 2", "in 2", "10"],
)
def test_unreadable_text_is_refused_with_examples(text: str) -> None:
    error = error_of(text)
    assert error.key == "schedule-unparseable"
    assert error.params == {"examples": "16.06.2026 10:00, 2026-06-16 10:00"}


@pytest.mark.parametrize("text", ["12/01/2026 10:00", "01/12/26 10:00", "25/12 10:00"])
def test_slashed_dates_are_refused_rather_than_guessed(text: str) -> None:
    error = error_of(text)
    assert (error.key, error.params) == (
        "schedule-ambiguous-date",
        {"example": "16.06.2026 10:00"},
    )


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("31.02.2026 10:00", "31.02.2026"),
        ("31.04 10:00", "31.04.2026"),
        ("29.02 10:00", "29.02.2026"),
        ("00.12.2026 10:00", "00.12.2026"),
        ("01.13.2026 10:00", "01.13.2026"),
        ("2026-02-30 10:00", "30.02.2026"),
        ("01.12.2026 25:00", "25:00"),
        ("завтра 24:00", "24:00"),
        ("today 10:60", "10:60"),
        ("25:00", "25:00"),
    ],
)
def test_impossible_dates_and_times_name_the_culprit(text: str, detail: str) -> None:
    error = error_of(text)
    assert (error.key, error.params) == ("schedule-impossible-date", {"detail": detail})


@pytest.mark.parametrize(
    "text", ["сегодня 09:00", "today 10:17", "01.06.2026 10:00", "14.06.26 23:59", "через 0 минут"]
)
def test_times_in_the_past_are_refused_with_an_example(text: str) -> None:
    error = error_of(text)
    assert (error.key, error.params) == ("schedule-in-past", {"example": "16.06.2026 10:00"})


# -- daylight saving time (Berlin: 2026-03-29 02:00→03:00, 2026-10-25 03:00→02:00) ----
@pytest.mark.parametrize(
    ("wall", "expected_utc"),
    [
        (datetime(2026, 3, 29, 1, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # gap: jump
        (datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # gap: jump
        (datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 3, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # first
        (datetime(2026, 10, 25, 3, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    ],
)
def test_skipped_times_mean_the_jump_and_repeated_ones_the_first(
    wall: datetime, expected_utc: datetime
) -> None:
    assert local_to_utc(wall, BERLIN) == expected_utc


def test_typed_time_in_the_spring_gap_is_the_moment_of_the_jump() -> None:
    now = datetime(2026, 3, 28, 12, tzinfo=UTC)
    result = parse_local_datetime("29.03.2026 02:30", BERLIN, now)
    assert result == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert result.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_typed_time_in_the_autumn_overlap_is_the_first_occurrence() -> None:
    now = datetime(2026, 10, 24, 12, tzinfo=UTC)
    result = parse_local_datetime("25.10.2026 02:30", BERLIN, now)
    assert result.astimezone(BERLIN).strftime("%H:%M %Z") == "02:30 CEST"


# -- quick choices --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "in_hour"),
    [
        (NOW, msk(2026, 6, 15, 11, 20)),
        (datetime(2026, 6, 15, 7, 15, tzinfo=UTC), msk(2026, 6, 15, 11, 15)),  # on the dot
        (datetime(2026, 6, 15, 7, 15, 1, tzinfo=UTC), msk(2026, 6, 15, 11, 20)),
        (datetime(2026, 6, 15, 19, 56, tzinfo=UTC), msk(2026, 6, 16, 0, 0)),  # past midnight
    ],
)
def test_quick_hour_is_rounded_up_to_five_minutes(now: datetime, in_hour: datetime) -> None:
    assert quick_choices(MOSCOW, now)[0] == ("schedule-quick-hour", in_hour)


@pytest.mark.parametrize(
    ("now", "monday"),
    [
        (NOW, msk(2026, 6, 22, 10, 0)),  # on a Monday: next week's
        (datetime(2026, 6, 17, 9, tzinfo=UTC), msk(2026, 6, 22, 10, 0)),  # Wednesday
        (datetime(2026, 6, 21, 9, tzinfo=UTC), msk(2026, 6, 22, 10, 0)),  # Sunday
    ],
)
def test_quick_tomorrow_and_monday_are_at_ten_local(now: datetime, monday: datetime) -> None:
    choices = dict(quick_choices(MOSCOW, now))
    tomorrow = now.astimezone(MOSCOW).date().toordinal() + 1
    assert choices["schedule-quick-tomorrow"].astimezone(MOSCOW).hour == 10
    assert choices["schedule-quick-tomorrow"].astimezone(MOSCOW).date().toordinal() == tomorrow
    assert choices["schedule-quick-monday"] == monday
    assert list(choices) == [
        "schedule-quick-hour",
        "schedule-quick-tomorrow",
        "schedule-quick-monday",
    ]


# -- cron presets ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "kwargs", "expected"),
    [
        ("daily", {"hour": 10, "minute": 0}, "0 10 * * *"),
        ("daily", {"hour": 0, "minute": 59}, "59 0 * * *"),
        ("weekly", {"hour": 9, "minute": 30, "weekdays": [0, 4]}, "30 9 * * 1,5"),
        ("weekly", {"hour": 9, "minute": 30, "weekdays": [4, 0, 0]}, "30 9 * * 1,5"),
        ("weekly", {"hour": 12, "minute": 0, "weekdays": [6]}, "0 12 * * 0"),
        ("weekly", {"hour": 12, "minute": 0, "weekdays": [5, 6]}, "0 12 * * 0,6"),
        ("monthly", {"hour": 12, "minute": 0, "day": 5}, "0 12 5 * *"),
        ("monthly", {"hour": 12, "minute": 0, "day": 31}, "0 12 31 * *"),
    ],
)
def test_presets_make_standard_cron(kind: str, kwargs: dict[str, int], expected: str) -> None:
    assert preset_cron(kind, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("hourly", {"hour": 10, "minute": 0}),
        ("daily", {"hour": 24, "minute": 0}),
        ("daily", {"hour": 10, "minute": 60}),
        ("daily", {"hour": -1, "minute": 0}),
        ("daily", {"hour": 10, "minute": 0, "day": 5}),
        ("weekly", {"hour": 10, "minute": 0}),
        ("weekly", {"hour": 10, "minute": 0, "weekdays": []}),
        ("weekly", {"hour": 10, "minute": 0, "weekdays": [7]}),
        ("weekly", {"hour": 10, "minute": 0, "weekdays": [-1]}),
        ("monthly", {"hour": 10, "minute": 0}),
        ("monthly", {"hour": 10, "minute": 0, "day": 0}),
        ("monthly", {"hour": 10, "minute": 0, "day": 32}),
        ("monthly", {"hour": 10, "minute": 0, "day": 5, "weekdays": [1]}),
    ],
)
def test_bad_presets_are_refused(kind: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        preset_cron(kind, **kwargs)  # type: ignore[arg-type]
    assert caught.value.key == "schedule-bad-preset"
    assert caught.value.params["detail"]


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("*", {0, 1, 2, 3, 4, 5, 6}),
        ("1", {0}),
        ("0", {6}),
        ("7", {6}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("MON,fri", {0, 4}),
        ("sat,sun", {5, 6}),
        ("mon-sun", {0, 1, 2, 3, 4, 5, 6}),
        ("*/2", {6, 1, 3, 5}),
        ("1-7/3", {0, 3, 6}),
        ("0,6", {5, 6}),
    ],
)
def test_crontab_weekdays_start_on_sunday_zero(field: str, weekdays: set[int]) -> None:
    assert cron_weekdays(field) == weekdays


@pytest.mark.parametrize("field", ["8", "5-1", "x", "1/0", "*/a", "", "1-", "mon-xyz"])
def test_bad_weekday_fields_raise_value_error(field: str) -> None:
    with pytest.raises(ValueError):
        cron_weekdays(field)


@pytest.mark.parametrize(
    ("expr", "ru", "en"),
    [
        ("0 10 * * *", "каждый день в 10:00", "every day at 10:00"),
        ("5 9 * * *", "каждый день в 09:05", "every day at 09:05"),
        (
            "30 9 * * 1,5",
            "по понедельникам и пятницам в 09:30",
            "every Monday and Friday at 09:30",
        ),
        ("0 12 * * 3", "по средам в 12:00", "every Wednesday at 12:00"),
        (
            "0 8 * * 1,3,5",
            "по понедельникам, средам и пятницам в 08:00",
            "every Monday, Wednesday and Friday at 08:00",
        ),
        ("0 9 * * 1-5", "по будням в 09:00", "every weekday at 09:00"),
        ("0 12 * * 0,6", "по выходным в 12:00", "every Saturday and Sunday at 12:00"),
        ("0 12 * * 0-6", "каждый день в 12:00", "every day at 12:00"),
        ("0 12 5 * *", "каждый месяц 5-го числа в 12:00", "monthly on day 5 at 12:00"),
    ],
)
def test_presets_are_described_in_both_languages(expr: str, ru: str, en: str) -> None:
    assert describe_cron(expr, "ru") == ru
    assert describe_cron(expr, "en") == en


@pytest.mark.parametrize(
    "expr",
    [
        "*/5 * * * *",
        "0 */2 * * *",
        "0 10 1 * 1",
        "0 10 1 1 *",
        "0 10 1,15 * *",
        "0 10 * * 8",
        "0 10 * *",
        "61 10 * * *",
        "0 24 * * *",
        "0 10 L * *",
    ],
)
def test_complex_expressions_are_not_described(expr: str) -> None:
    assert describe_cron(expr, "ru") is None
    assert describe_cron(expr, "en") is None


def test_unknown_language_falls_back_to_russian() -> None:
    assert describe_cron("0 10 * * *", "de") == "каждый день в 10:00"
