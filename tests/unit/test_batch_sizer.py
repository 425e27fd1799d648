"""BatchSizer: claims sized to about ``target`` seconds of sending, within floor and ceiling."""

from __future__ import annotations

import pytest

from domain.delivery import BatchSizer


def test_a_fast_channel_doubles_the_batch_up_to_the_ceiling() -> None:
    sizer = BatchSizer(ceiling=1000, target=1.0)
    sizes = [sizer.size]
    for _ in range(8):
        sizer.observe(sizer.size, sizer.size, seconds=sizer.size / 5000)  # 5,000 msg/s
        sizes.append(sizer.size)
    assert sizes == [20, 40, 80, 160, 320, 640, 1000, 1000, 1000]


def test_a_slow_channel_gets_about_target_seconds_of_sending() -> None:
    sizer = BatchSizer(ceiling=1000, target=2.0)
    for _ in range(10):
        sizer.observe(sizer.size, sizer.size, seconds=sizer.size / 40)  # 40 msg/s
    assert sizer.size == 80  # 40 msg/s × 2 s


def test_it_shrinks_at_once_when_the_channel_slows_down() -> None:
    sizer = BatchSizer(ceiling=1000, target=1.0)
    for _ in range(10):
        sizer.observe(sizer.size, sizer.size, seconds=0.01)
    assert sizer.size == 1000
    sizer.observe(1000, 1000, seconds=20.0)  # 50 msg/s now (a 429 storm, a slow relay)
    assert sizer.size == 50


def test_never_below_the_floor_even_when_one_message_outlasts_the_target() -> None:
    sizer = BatchSizer(ceiling=1000, target=1.0, floor=20)
    sizer.observe(20, 20, seconds=30.0)
    assert sizer.size == 20


def test_a_short_batch_says_nothing_about_the_channel() -> None:
    sizer = BatchSizer(ceiling=1000, target=1.0)
    sizer.observe(20, 20, seconds=0.001)
    assert sizer.size == 40
    sizer.observe(40, 3, seconds=10.0)  # the queue ran low: 3 of 40
    assert sizer.size == 40
    sizer.observe(40, 0, seconds=0.0)
    assert sizer.size == 40


def test_a_ceiling_below_the_floor_wins_and_an_instant_batch_grows() -> None:
    sizer = BatchSizer(ceiling=5, target=1.0)
    assert sizer.size == 5
    sizer.observe(5, 5, seconds=0.0)  # a clock that did not move
    assert sizer.size == 5


@pytest.mark.parametrize(("ceiling", "target"), [(0, 1.0), (10, 0.0), (10, -1.0)])
def test_nonsense_limits_are_refused(ceiling: int, target: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        BatchSizer(ceiling=ceiling, target=target)
