"""Local time: zones from a field, each zone's release instant (DST-correct), quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidInput
from domain.local_time import (
    LocalTime,
    next_release,
    parse_clock,
    parse_quiet,
    parse_zone,
    releases,
    zone_of,
)

TEN = time(10, 0)
QUIET = (time(22, 0), time(9, 0))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_zone_is_an_iana_name_an_offset_or_a_known_city() -> None:
    assert zone_of("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert zone_of(" europe/berlin ") == ZoneInfo("Europe/Berlin")
    assert zone_of("UTC+3") == timezone(timedelta(hours=3))
    assert zone_of("+05:30") == timezone(timedelta(hours=5, minutes=30))
    assert zone_of("GMT-5") == timezone(timedelta(hours=-5))
    assert zone_of("Новосибирск") == ZoneInfo("Asia/Novosibirsk")
    assert zone_of("New York") == ZoneInfo("America/New_York")
    assert zone_of("utc") == UTC


def test_values_that_name_no_zone_give_none() -> None:
    for value in ("", None, "Atlantis", "UTC+15", "+3:75", "Mars/Olympus"):
        assert zone_of(value) is None, value


def test_the_release_is_the_next_ten_oclock_in_the_zone() -> None:
    now = utc(2026, 12, 7, 6, 0)
    assert next_release(TEN, ZoneInfo("Europe/Moscow"), now, None) == utc(2026, 12, 7, 7, 0)
    assert next_release(TEN, ZoneInfo("America/New_York"), now, None) == utc(2026, 12, 7, 15)
    # Ten o'clock has passed in Tokyo: tomorrow's.
    assert next_release(TEN, ZoneInfo("Asia/Tokyo"), now, None) == utc(2026, 12, 8, 1, 0)
    # Exactly now counts as now.
    assert next_release(TEN, ZoneInfo("UTC"), utc(2026, 12, 7, 10), None) == utc(2026, 12, 7, 10)


def test_releases_follow_daylight_saving_time_changes() -> None:
    # Berlin moves to summer time on 29 March 2026 (01:00 UTC).
    saturday = utc(2026, 3, 28, 12, 0)
    berlin = ZoneInfo("Europe/Berlin")
    assert next_release(TEN, berlin, saturday, None) == utc(2026, 3, 29, 8, 0)  # CEST
    assert next_release(TEN, berlin, utc(2026, 3, 28, 6), None) == utc(2026, 3, 28, 9)  # CET
    # 02:30 does not exist that night: sent an hour later on the wall clock (03:30 CEST).
    assert next_release(time(2, 30), berlin, saturday, None) == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: the first one (CEST).
    autumn = utc(2026, 10, 24, 12, 0)
    assert next_release(time(2, 30), berlin, autumn, None) == utc(2026, 10, 25, 0, 30)


def test_quiet_hours_move_a_release_to_their_end() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    # 23:00 in Moscow: quiet until 09:00 the next morning.
    late = utc(2026, 12, 7, 20, 0)
    assert next_release(None, moscow, late, QUIET) == utc(2026, 12, 8, 6, 0)
    # 07:00 in Moscow: quiet until 09:00 the same morning.
    early = utc(2026, 12, 7, 4, 0)
    assert next_release(None, moscow, early, QUIET) == utc(2026, 12, 7, 6, 0)
    # Midday is not quiet; quiet hours within a day work too.
    noon = utc(2026, 12, 7, 9, 0)
    assert next_release(None, moscow, noon, QUIET) == noon
    lunch = (time(12, 0), time(13, 0))
    assert next_release(None, moscow, noon, lunch) == utc(2026, 12, 7, 10, 0)


def test_each_value_of_the_field_gets_its_zones_release_and_the_rest_the_default() -> None:
    local = LocalTime(default_zone="Asia/Tokyo", at=TEN, field="tz", quiet=QUIET)
    found = releases(local, ["Europe/Moscow", " UTC-4 ", "Atlantis"], utc(2026, 12, 7, 6))
    assert found.field == "tz"
    assert found.by_value == {"europe/moscow": utc(2026, 12, 7, 7), "utc-4": utc(2026, 12, 7, 14)}
    assert found.default == utc(2026, 12, 8, 1)


def test_local_time_survives_its_json_form() -> None:
    local = LocalTime(default_zone="Europe/Berlin", at=TEN, field="city", quiet=QUIET)
    assert LocalTime.from_json(local.to_json()) == local
    assert LocalTime.from_json(LocalTime("UTC").to_json()) == LocalTime("UTC")
    assert LocalTime.from_json(None) is None


def test_typed_values_are_checked() -> None:
    assert parse_zone(" europe/moscow ") == "Europe/Moscow"
    assert parse_clock("9.30") == time(9, 30)
    assert parse_quiet("22:00 - 09:00") == QUIET and parse_quiet("-") is None
    for call, key in (
        (lambda: parse_zone("Mars/Olympus"), "local-zone-unknown"),
        (lambda: parse_clock("25:00"), "local-time-invalid"),
        (lambda: parse_clock("ten"), "local-time-invalid"),
        (lambda: parse_quiet("22:00"), "local-quiet-invalid"),
        (lambda: parse_quiet("09:00-09:00"), "local-quiet-invalid"),
    ):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.key == key
