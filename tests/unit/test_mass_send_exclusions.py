"""Recipients a provider left out of a mass send (its stop-list, unsubscribed…) have no
report row, only a count per reason: how the engine closes them (``close_excluded``)."""

from __future__ import annotations

from domain.delivery import Outcome
from domain.mass_send import MassSendExclusion, close_excluded

STOP = MassSendExclusion("stop-list", 2, Outcome.refused)
UNSUB = MassSendExclusion("unsubscribed", 1, Outcome.refused)
DOUBLE = MassSendExclusion("duplicate", 1, Outcome.failed)


def test_one_reason_closes_every_open_row_with_that_reason() -> None:
    assert close_excluded([STOP], 2) == (Outcome.refused, "stop-list")


def test_several_refusals_close_them_refused_with_each_count() -> None:
    assert close_excluded([STOP, UNSUB], 3) == (
        Outcome.refused,
        "stop-list ×2; unsubscribed ×1",
    )


def test_a_mix_with_a_passing_reason_is_failed_not_suppressed() -> None:
    outcome, reason = close_excluded([STOP, DOUBLE], 3) or (None, "")
    assert outcome is Outcome.failed and reason == "stop-list ×2; duplicate ×1"


def test_counts_that_do_not_cover_the_open_rows_mean_keep_waiting() -> None:
    assert close_excluded([STOP], 3) is None
    assert close_excluded([], 1) is None
    assert close_excluded([MassSendExclusion("stop-list", 0, Outcome.refused)], 1) is None


def test_nothing_open_is_nothing_to_close() -> None:
    assert close_excluded([STOP], 0) is None
