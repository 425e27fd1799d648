"""A/B test rules: variants, the sample, a stable random split, and the winner."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from domain.ab_test import (
    ABTest,
    Decision,
    Metric,
    Part,
    Split,
    Variant,
    VariantResult,
    check_sample,
    check_variants,
    parse_percent,
    parse_variant,
    parse_wait,
    placement,
    verdict,
)
from domain.errors import InvalidInput


def refused(call: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        call()  # type: ignore[operator]
    return caught.value.key


def test_two_to_four_variants_that_differ() -> None:
    check_variants([Variant("Sale", "Hi"), Variant("SALE!", "Hi")])
    assert refused(lambda: check_variants([Variant("A", "x")])) == "ab-variant-count"
    assert refused(lambda: check_variants([Variant("A", "x")] * 5)) == "ab-variant-count"
    same = [Variant("A", "x"), Variant(" A ", "x ")]
    assert refused(lambda: check_variants(same)) == "ab-variants-same"


def test_a_sample_must_give_each_variant_enough_people() -> None:
    assert check_sample(1000, 20, 2) == 200
    assert refused(lambda: check_sample(90, 20, 2)) == "ab-sample-too-small"
    assert refused(lambda: check_sample(1000, 0.5, 2)) == "ab-sample-percent"
    assert refused(lambda: check_sample(1000, 95, 2)) == "ab-sample-percent"


def test_the_split_is_even_random_and_stable() -> None:
    places = [placement("seed-1", i, 20, 3) for i in range(30_000)]
    counts = Counter(places)
    assert 5_600 <= counts[None] / 4 <= 6_400  # 80 % in the rest
    for variant in range(3):
        assert 1_800 <= counts[variant] <= 2_200  # 20 % / 3 each
    assert places == [placement("seed-1", i, 20, 3) for i in range(30_000)]
    other = [placement("seed-2", i, 20, 3) for i in range(30_000)]
    assert sum(a == b for a, b in zip(places, other, strict=True)) < 26_000


def test_the_winner_has_the_best_rate_and_a_clear_margin_is_not_chance() -> None:
    clear = verdict([VariantResult(1000, 100), VariantResult(1000, 180)])
    assert (clear.winner, clear.runner_up) == (1, 0)
    assert clear.margin == pytest.approx(0.08) and not clear.within_chance


def test_a_small_difference_on_few_people_is_within_chance() -> None:
    close = verdict([VariantResult(50, 6), VariantResult(50, 8), VariantResult(50, 7)])
    assert close.winner == 1 and close.runner_up == 2 and close.within_chance


def test_a_tie_goes_to_the_first_variant_and_is_chance() -> None:
    tie = verdict([VariantResult(100, 10), VariantResult(100, 10)])
    assert tie.winner == 0 and tie.margin == 0 and tie.within_chance
    nobody = verdict([VariantResult(0, 0), VariantResult(0, 0)])
    assert nobody.within_chance


def test_typed_variants_shares_and_waiting_times() -> None:
    assert parse_variant(Part.subject, "  Last   days ") == Variant("Last days", "")
    assert parse_variant(Part.both, "Sale!\nHello <b>you</b>\n") == Variant(
        "Sale!", "Hello <b>you</b>"
    )
    assert refused(lambda: parse_variant(Part.both, "Only a subject")) == "ab-variant-needs-both"
    assert refused(lambda: parse_variant(Part.text, " \n ")) == "ab-variant-empty"
    assert parse_percent("20 %") == 20 and parse_percent("12,5") == 12.5
    for bad in ("0", "95", "half", "nan"):
        assert refused(lambda b=bad: parse_percent(b)) == "ab-sample-percent"
    assert parse_wait("90m") == timedelta(minutes=90)
    assert parse_wait("4ч") == parse_wait("4") == timedelta(hours=4)
    assert parse_wait("1,5d") == timedelta(hours=36)
    for bad in ("10m", "8d", "soon", ""):
        assert refused(lambda b=bad: parse_wait(b)) == "ab-wait-invalid"


def test_a_test_keeps_the_mailings_own_content_as_a() -> None:
    test = ABTest(Part.subject).adding(Variant("B", ""), "A", "Body")
    assert test.variants("A", "Body") == [Variant("A", "Body"), Variant("B", "Body")]
    assert refused(lambda: test.adding(Variant(" A ", ""), "A", "Body")) == "ab-variants-same"
    full = test.adding(Variant("C", ""), "A", "Body").adding(Variant("D", ""), "A", "Body")
    assert refused(lambda: full.adding(Variant("E", ""), "A", "Body")) == "ab-variant-count"
    assert [v.subject for v in full.without(2).variants("A", "x")] == ["A", "B", "D"]
    assert ABTest.from_json(full.to_json()) == full
    assert full.split("7") == Split("7", 20, 4)


def test_a_winner_picked_by_hand_is_compared_with_the_best_other() -> None:
    results = [VariantResult(100, 30), VariantResult(100, 10), VariantResult(100, 28)]
    auto = Decision.of(results, Metric.opens)
    assert auto.winner == 0 and not auto.by_hand and auto.within_chance  # 30 % vs 28 %
    assert round(auto.margin, 2) == 0.02
    hand = Decision.of(results, Metric.opens, chosen=1)
    assert hand.by_hand and round(hand.margin, 2) == -0.2 and not hand.within_chance
    assert Decision.from_json(hand.to_json()) == hand
    assert refused(lambda: Decision.of(results, Metric.opens, chosen=3)) == "ab-no-such-variant"
