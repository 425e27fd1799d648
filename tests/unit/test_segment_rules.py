"""The condition language of segments: what is typed, how it is checked and stored."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidInput
from domain.segments import (
    MAX_CONDITIONS,
    TAGS,
    Condition,
    Match,
    Op,
    Segment,
    birthday_days,
    check_fields,
    local_today,
    parse_condition,
    retagged,
    split_tags,
)
from domain.targeting import Targeting


def error_of(field: str, op: Op, text: str | None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_condition(field, op, text)
    return caught.value


def test_numbers_are_read_with_a_dot_or_a_comma() -> None:
    assert parse_condition("age", Op.greater, " 18 ").value == 18.0
    assert parse_condition("score", Op.less, "3,5").value == 3.5
    assert parse_condition("balance", Op.greater, "-10.25").value == -10.25


def test_a_word_where_a_number_belongs_is_refused_with_the_word() -> None:
    error = error_of("age", Op.greater, "abc")
    assert error.key == "segment-not-a-number" and error.params == {"value": "abc"}


def test_dates_are_read_in_iso_and_day_first_forms() -> None:
    assert parse_condition("signed", Op.before, "2026-03-01").value == date(2026, 3, 1)
    assert parse_condition("signed", Op.after, "01.03.2026").value == date(2026, 3, 1)
    assert parse_condition("signed", Op.after, "01/03/2026").value == date(2026, 3, 1)


def test_a_date_that_does_not_exist_is_refused() -> None:
    assert error_of("signed", Op.before, "31.02.2026").key == "segment-not-a-date"
    assert error_of("signed", Op.before, "yesterday").key == "segment-not-a-date"


def test_within_the_last_days_takes_a_positive_whole_number() -> None:
    assert parse_condition("seen", Op.within_days, "30").value == 30
    assert error_of("seen", Op.within_days, "0").key == "segment-days-invalid"
    assert error_of("seen", Op.within_days, "-3").key == "segment-days-invalid"
    assert error_of("seen", Op.within_days, "1.5").key == "segment-days-invalid"


def test_one_of_splits_on_commas_and_drops_repeats() -> None:
    condition = parse_condition("city", Op.one_of, "Moscow, Kazan ;Moscow,,")
    assert condition.value == ("Moscow", "Kazan")


def test_operators_without_a_value_ignore_what_was_typed() -> None:
    assert parse_condition("phone", Op.empty) == Condition("phone", Op.empty)
    assert parse_condition("birthday", Op.birthday_today, "x").value is None


def test_an_empty_value_is_refused_where_one_is_needed() -> None:
    assert error_of("city", Op.equals, "   ").key == "segment-value-empty"
    assert error_of("city", Op.one_of, " , ; ").key == "segment-value-empty"


def test_a_tag_condition_is_on_the_tags_field_one_tag_at_a_time() -> None:
    condition = parse_condition("whatever", Op.has_tag, " VIP ")
    assert condition == Condition(TAGS, Op.has_tag, "vip")
    assert error_of(TAGS, Op.has_tag, "vip, new").key == "segment-one-tag"


def test_a_field_no_list_has_is_refused_by_name() -> None:
    segment = Segment((Condition("city", Op.equals, "Kazan"), Condition("plan", Op.empty)))
    check_fields(segment, {"city", "plan"})
    with pytest.raises(InvalidInput) as caught:
        check_fields(segment, {"city"})
    assert caught.value.key == "segment-unknown-field"
    assert caught.value.params == {"field": "plan"}


def test_tags_are_a_field_of_every_list() -> None:
    check_fields(Segment((Condition(TAGS, Op.has_tag, "vip"),)), set())


def test_a_segment_grows_shrinks_and_switches_between_all_and_any() -> None:
    segment = Segment().adding(Condition("a", Op.empty)).adding(Condition("b", Op.not_empty))
    assert segment.match is Match.all and len(segment.conditions) == 2
    assert segment.switched().match is Match.any
    assert segment.without(0).conditions == (Condition("b", Op.not_empty),)


def test_a_segment_holds_a_bounded_number_of_conditions() -> None:
    segment = Segment(tuple(Condition(f"f{i}", Op.empty) for i in range(MAX_CONDITIONS)))
    with pytest.raises(InvalidInput) as caught:
        segment.adding(Condition("one more", Op.empty))
    assert caught.value.key == "segment-too-many"


def test_targeting_survives_its_json_form() -> None:
    segment = Segment(
        (
            parse_condition("city", Op.one_of, "Moscow, Kazan"),
            parse_condition("signed", Op.after, "2026-01-31"),
            parse_condition("age", Op.greater, "18"),
            parse_condition("seen", Op.within_days, "7"),
            Condition(TAGS, Op.has_tag, "vip"),
        ),
        Match.any,
    )
    targeting = Targeting(
        segment=segment,
        exclude_lists=(3,),
        exclude_segment=Segment((Condition("plan", Op.equals, "free"),)),
        exclude_segment_name="Free plan",
        exclude_got=(7,),
        exclude_clicked=(8, 9),
    )
    assert Targeting.from_json(targeting.to_json()) == targeting
    assert Targeting().to_json() == {} and Targeting.from_json({}).is_everyone


def test_exclusion_ids_toggle() -> None:
    targeting = Targeting().toggled("exclude_lists", 4).toggled("exclude_lists", 5)
    assert targeting.exclude_lists == (4, 5)
    assert targeting.toggled("exclude_lists", 4).exclude_lists == (5,)


def test_people_born_on_29_february_have_their_birthday_on_1_march_of_other_years() -> None:
    assert birthday_days(date(2027, 3, 1)) == ("03-01", "02-29")
    assert birthday_days(date(2028, 3, 1)) == ("03-01",)
    assert birthday_days(date(2028, 2, 29)) == ("02-29",)


def test_today_is_the_day_of_the_mailings_zone() -> None:
    late = datetime(2026, 12, 7, 22, 30, tzinfo=UTC)
    assert local_today("Europe/Moscow", late) == date(2026, 12, 8)
    assert local_today("America/New_York", late) == date(2026, 12, 7)
    assert local_today("No/Such_Zone", late) == date(2026, 12, 7)


def test_tags_are_added_once_and_removed_keeping_the_others() -> None:
    assert split_tags("VIP; new ,, gold") == ["vip", "new", "gold"]
    assert split_tags(None) == [] and split_tags(42) == []
    assert retagged("vip, new", "gold", add=True) == "vip, new, gold"
    assert retagged("vip, gold", "gold", add=True) == "vip, gold"
    assert retagged("vip;gold", "vip", add=False) == "gold"
    assert retagged(None, "vip", add=False) == ""
