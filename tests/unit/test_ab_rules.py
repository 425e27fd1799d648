"""A/B test rules: variants, the sample, a stable random split, and the winner."""

from __future__ import annotations

from collections import Counter

import pytest

from domain.ab_test import (
    Variant,
    VariantResult,
    check_sample,
    check_variants,
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
