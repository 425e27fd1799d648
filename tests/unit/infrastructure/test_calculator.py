"""Fire times of one-off and cron schedules: crontab semantics, DST, limits, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidInput
from domain.mailings import Schedule, ScheduleKind
from infrastructure.scheduling import CronScheduleCalculator

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)  # a Wednesday
calculator = CronScheduleCalculator()


def cron(expr: str, tz: str = "Europe/Berlin", **kwargs: object) -> Schedule:
    return Schedule(kind=ScheduleKind.cron, cron=expr, timezone=tz, **kwargs)  # type: ignore[arg-type]


def local(times: list[datetime], tz: ZoneInfo = BERLIN) -> list[str]:
    return [t.astimezone(tz).strftime("%a %d.%m %H:%M %Z") for t in times]


# -- DST (Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET) --
def test_daily_ten_oclock_stays_at_ten_local_across_spring_forward() -> None:
    times = calculator.next_times(cron("0 10 * * *"), datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    assert local(times) == [
        "Sat 28.03 10:00 CET",
        "Sun 29.03 10:00 CEST",
        "Mon 30.03 10:00 CEST",
        "Tue 31.03 10:00 CEST",
    ]
    assert times[1] == datetime(2026, 3, 29, 8, tzinfo=UTC)  # once on the change day
    assert all(t.tzinfo is UTC for t in times)


def test_daily_ten_oclock_stays_at_ten_local_across_fall_back() -> None:
    times = calculator.next_times(cron("0 10 * * *"), datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert local(times) == [
        "Sat 24.10 10:00 CEST",
        "Sun 25.10 10:00 CET",
        "Mon 26.10 10:00 CET",
        "Tue 27.10 10:00 CET",
    ]
    assert times[1] - times[0] == timedelta(hours=25)


def test_a_time_skipped_by_spring_forward_fires_at_the_jump() -> None:
    times = calculator.next_times(cron("30 2 * * *"), datetime(2026, 3, 27, 12, tzinfo=UTC), 3)
    assert local(times) == ["Sat 28.03 02:30 CET", "Sun 29.03 03:00 CEST", "Mon 30.03 02:30 CEST"]


def test_a_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    times = calculator.next_times(cron("30 2 * * *"), datetime(2026, 10, 23, 12, tzinfo=UTC), 3)
    assert local(times) == ["Sat 24.10 02:30 CEST", "Sun 25.10 02:30 CEST", "Mon 26.10 02:30 CET"]


def test_after_the_first_occurrence_of_a_repeated_time_it_does_not_fire_again() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    times = calculator.next_times(cron("30 2 * * *"), first, 1)
    assert local(times) == ["Mon 26.10 02:30 CET"]


def test_hourly_fires_once_per_wall_clock_hour_through_both_changes() -> None:
    spring = calculator.next_times(cron("0 * * * *"), datetime(2026, 3, 28, 23, tzinfo=UTC), 3)
    assert local(spring) == ["Sun 29.03 01:00 CET", "Sun 29.03 03:00 CEST", "Sun 29.03 04:00 CEST"]
    autumn = calculator.next_times(cron("0 * * * *"), datetime(2026, 10, 24, 23, tzinfo=UTC), 3)
    assert local(autumn) == ["Sun 25.10 02:00 CEST", "Sun 25.10 03:00 CET", "Sun 25.10 04:00 CET"]


def test_times_in_the_spring_gap_collapse_into_one_fire() -> None:
    times = calculator.next_times(cron("0,30 2,3 * * *"), datetime(2026, 3, 28, 12, tzinfo=UTC), 3)
    assert local(times) == ["Sun 29.03 03:00 CEST", "Sun 29.03 03:30 CEST", "Mon 30.03 02:00 CEST"]


# -- crontab semantics ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0 10 * * 1", ["Mon 30.03 10:00 CEST", "Mon 06.04 10:00 CEST"]),  # 1 is Monday
        ("0 10 * * 0", ["Sun 29.03 10:00 CEST", "Sun 05.04 10:00 CEST"]),  # 0 is Sunday
        ("0 10 * * 7", ["Sun 29.03 10:00 CEST", "Sun 05.04 10:00 CEST"]),  # so is 7
        ("0 10 * * sat,sun", ["Sat 28.03 10:00 CET", "Sun 29.03 10:00 CEST"]),
        ("0 9 * * 1-5", ["Thu 26.03 09:00 CET", "Fri 27.03 09:00 CET"]),
        ("0 12 1 * *", ["Wed 01.04 12:00 CEST", "Fri 01.05 12:00 CEST"]),
        ("0 12 31 * *", ["Tue 31.03 12:00 CEST", "Sun 31.05 12:00 CEST"]),  # short months skip
        ("0 10 1 * 1", ["Mon 30.03 10:00 CEST", "Wed 01.04 10:00 CEST"]),  # the 1st OR Mondays
        # a field starting with "*" does not count as restricted: days 1,11,21,31 AND Mondays
        ("0 10 */10 * 1", ["Mon 11.05 10:00 CEST", "Mon 01.06 10:00 CEST"]),
        ("0 8 * jan-mar,dec *", ["Thu 26.03 08:00 CET", "Fri 27.03 08:00 CET"]),
    ],
)
def test_standard_crontab_meaning(expr: str, expected: list[str]) -> None:
    assert local(calculator.next_times(cron(expr), NOW, 2)) == expected


def test_times_are_in_the_schedules_own_zone() -> None:
    times = calculator.next_times(cron("0 10 * * *", tz="Asia/Tokyo"), NOW, 1)
    assert times == [datetime(2026, 3, 26, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("after", "expected_first"),
    [
        (datetime(2026, 3, 26, 9, tzinfo=UTC), datetime(2026, 3, 27, 9, tzinfo=UTC)),  # exact
        (
            datetime(2026, 3, 26, 8, 59, 59, 999999, tzinfo=UTC),
            datetime(2026, 3, 26, 9, tzinfo=UTC),
        ),
        (datetime(2026, 3, 26, 9, 0, 0, 1, tzinfo=UTC), datetime(2026, 3, 27, 9, tzinfo=UTC)),
        (datetime(2026, 3, 26, 9), datetime(2026, 3, 27, 9, tzinfo=UTC)),  # naive = UTC
    ],
)
def test_next_times_are_strictly_after(after: datetime, expected_first: datetime) -> None:
    assert calculator.next_times(cron("0 10 * * *"), after, 1) == [expected_first]


def test_ends_at_is_inclusive_and_stops_the_series() -> None:
    ends = datetime(2026, 3, 28, 9, tzinfo=UTC)  # Saturday 10:00 CET, itself a fire time
    times = calculator.next_times(cron("0 10 * * *", ends_at=ends), NOW, 10)
    assert local(times) == ["Thu 26.03 10:00 CET", "Fri 27.03 10:00 CET", "Sat 28.03 10:00 CET"]


def test_until_is_inclusive_and_the_earlier_of_it_and_ends_at_stops_the_series() -> None:
    until = datetime(2026, 3, 27, 9, tzinfo=UTC)  # Friday 10:00 CET, itself a fire time
    times = calculator.next_times(cron("0 10 * * *"), NOW, 10, until=until)
    assert local(times) == ["Thu 26.03 10:00 CET", "Fri 27.03 10:00 CET"]
    ends = datetime(2026, 3, 26, 9, tzinfo=UTC)
    assert len(calculator.next_times(cron("0 10 * * *", ends_at=ends), NOW, 10, until=until)) == 1
    assert calculator.next_times(cron("0 10 * * *"), NOW, 10, until=NOW) == []
    run_at = NOW + timedelta(hours=1)
    assert calculator.next_times(once(run_at), NOW, 1, until=run_at) == [run_at]
    assert calculator.next_times(once(run_at), NOW, 1, until=NOW + timedelta(minutes=59)) == []


@pytest.mark.parametrize(("max_runs", "count", "expected"), [(2, 10, 2), (5, 3, 3), (None, 4, 4)])
def test_max_runs_caps_the_count(max_runs: int | None, count: int, expected: int) -> None:
    assert (
        len(calculator.next_times(cron("0 10 * * *", max_runs=max_runs), NOW, count)) == expected
    )


@pytest.mark.parametrize("count", [0, -1])
def test_no_times_for_a_non_positive_count(count: int) -> None:
    assert calculator.next_times(cron("0 10 * * *"), NOW, count) == []


def test_a_schedule_that_never_fires_has_no_times() -> None:
    assert calculator.next_times(cron("0 10 30 2 *"), NOW, 3) == []


# -- one-off and none -----------------------------------------------------------------
def once(run_at: datetime | None) -> Schedule:
    return Schedule(kind=ScheduleKind.once, run_at=run_at, timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("run_at", "expected"),
    [
        (NOW + timedelta(minutes=1), [NOW + timedelta(minutes=1)]),
        (NOW, []),
        (NOW - timedelta(days=1), []),
        (None, []),
    ],
)
def test_once_fires_a_single_time_if_still_ahead(
    run_at: datetime | None, expected: list[datetime]
) -> None:
    assert calculator.next_times(once(run_at), NOW, 5) == expected


def test_none_never_fires_and_needs_no_validation() -> None:
    calculator.validate(Schedule(), NOW)
    assert calculator.next_times(Schedule(), NOW, 5) == []


# -- validation -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "schedule",
    [
        once(NOW + timedelta(seconds=1)),
        cron("0 10 * * *"),
        cron("0 * * * *"),  # exactly the minimum interval
        cron("0 9 * * 1-5", tz="Europe/Moscow", ends_at=NOW + timedelta(days=30), max_runs=5),
        cron("0 0 29 2 *"),  # leap days only
        cron("0 10 1 * 1"),
    ],
)
def test_valid_schedules_pass(schedule: Schedule) -> None:
    calculator.validate(schedule, NOW)


def refusal(schedule: Schedule, calc: CronScheduleCalculator = calculator) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        calc.validate(schedule, NOW)
    return caught.value


@pytest.mark.parametrize("run_at", [NOW, NOW - timedelta(minutes=5), datetime(2020, 1, 1)])
def test_once_in_the_past_is_refused_with_an_example(run_at: datetime) -> None:
    error = refusal(once(run_at))
    assert (error.key, error.params) == ("schedule-in-past", {"example": "26.03.2026 10:00"})


def test_once_without_a_time_is_incomplete() -> None:
    assert refusal(once(None)).key == "schedule-incomplete"


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "0 10 * *",
        "0 10 * * * *",
        "61 10 * * *",
        "0 24 * * *",
        "0 10 32 * *",
        "0 10 * 13 *",
        "0 10 * * 8",
        "0 10 * * 5-1",
        "a b c d e",
        "0 10 L * *",
        "@daily",
    ],
)
def test_malformed_cron_is_refused_with_detail_and_example(expr: str) -> None:
    error = refusal(cron(expr))
    assert error.key == "schedule-cron-invalid"
    assert error.params["example"] == "0 10 * * 1-5"
    assert error.params["detail"]


def test_cron_without_an_expression_is_invalid() -> None:
    assert refusal(Schedule(kind=ScheduleKind.cron)).key == "schedule-cron-invalid"


def test_cron_that_never_fires_is_refused() -> None:
    assert refusal(cron("0 10 30 2 *")).key == "schedule-cron-never"


@pytest.mark.parametrize(
    "expr",
    [
        "* * * * *",
        "*/30 * * * *",
        "0,59 * * * *",
        "0 10,11 * * *",
        "0,30 9 1 * *",  # only twice on one day a month: caught among the first 50 times
    ],
)
def test_too_frequent_cron_is_refused(expr: str) -> None:
    error = refusal(cron(expr), CronScheduleCalculator(min_interval=timedelta(hours=2)))
    assert (error.key, error.params) == (
        "schedule-too-frequent",
        {"minutes": 120, "example": "0 10 * * *"},
    )


def test_min_interval_is_configurable() -> None:
    CronScheduleCalculator(min_interval=timedelta(minutes=15)).validate(cron("*/15 * * * *"), NOW)
    assert refusal(cron("*/15 * * * *")).params["minutes"] == 60


def test_ends_before_the_first_fire_is_refused() -> None:
    error = refusal(cron("0 10 * * *", ends_at=datetime(2026, 3, 26, 8, tzinfo=UTC)))
    assert (error.key, error.params) == (
        "schedule-ends-before-start",
        {"first": "26.03.2026 10:00"},
    )


@pytest.mark.parametrize("max_runs", [0, -3])
def test_max_runs_below_one_is_refused(max_runs: int) -> None:
    error = refusal(cron("0 10 * * *", max_runs=max_runs))
    assert (error.key, error.params) == ("schedule-bad-max-runs", {"value": max_runs})


def test_unknown_time_zone_is_refused() -> None:
    error = refusal(cron("0 10 * * *", tz="Mars/Olympus"))
    assert (error.key, error.params) == ("schedule-bad-timezone", {"timezone": "Mars/Olympus"})
