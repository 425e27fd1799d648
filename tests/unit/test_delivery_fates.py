"""What a send result does to its delivery row (``domain.fates``), outcome by outcome.

The SQL adapter that writes these is covered by ``tests/integration/db/test_queue.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.fates import Fate, decide, lost_claim, suppresses
from domain.runs import DeliveryStatus

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base=timedelta(seconds=30), cap=timedelta(minutes=10))
S = DeliveryStatus


def fate(outcome: Outcome, attempts: int = 1, **result: object) -> Fate:
    return decide(SendResult(7, outcome, **result), attempts, NOW, POLICY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(Outcome.delivered, S.delivered), (Outcome.failed, S.failed), (Outcome.refused, S.refused)],
)
def test_a_final_answer_is_final_whatever_the_attempts_left(
    outcome: Outcome, status: DeliveryStatus
) -> None:
    for attempts in (1, POLICY.max_attempts):
        assert fate(outcome, attempts) == Fate(status, None, given_back=False, answer_lost=False)


def test_only_a_refusal_suppresses_the_address() -> None:
    assert fate(Outcome.refused).suppresses
    assert [s for s in DeliveryStatus if suppresses(s)] == [S.refused]
    for outcome in set(Outcome) - {Outcome.refused}:
        assert not fate(outcome).suppresses, outcome


def test_a_retry_backs_off_within_the_policy_and_spends_its_attempt() -> None:
    for attempts in (1, 2):
        got = fate(Outcome.retry, attempts, error="451 busy")
        assert (got.status, got.given_back) == (S.pending, False)
        ceiling = POLICY.base * 2 ** (attempts - 1)  # full jitter under the doubling ceiling
        assert got.next_at is not None and NOW <= got.next_at <= NOW + ceiling


def test_a_retry_waits_as_long_as_the_channel_asked() -> None:
    got = fate(Outcome.retry, 1, retry_after=42.5)
    assert got == Fate(S.pending, NOW + timedelta(seconds=42.5), False, False)


def test_a_retry_fails_once_the_attempts_are_exhausted() -> None:
    assert fate(Outcome.retry, POLICY.max_attempts).status is S.failed
    assert fate(Outcome.retry, POLICY.max_attempts + 1, retry_after=5) == Fate(
        S.failed, None, False, False
    )


def test_an_unreachable_channel_gives_the_attempt_back_and_waits_for_its_probe() -> None:
    # However many attempts were made: nothing was tried this time.
    for attempts in (1, POLICY.max_attempts, POLICY.max_attempts + 5):
        got = fate(Outcome.unreachable, attempts, retry_after=5)
        assert got == Fate(S.pending, NOW + timedelta(seconds=5), True, False)
    assert fate(Outcome.unreachable).next_at == NOW  # no probe time: due at once


def test_a_halted_channel_leaves_the_row_for_the_resumed_run() -> None:
    got = fate(Outcome.halted, POLICY.max_attempts, error="certificate not trusted")
    assert got == Fate(S.pending, None, False, False)


def test_an_uncertain_answer_marks_the_row_whatever_becomes_of_it() -> None:
    # A 5xx after the request reached the provider: the retry may be a second copy.
    retried = fate(Outcome.retry, 1, answer_lost=True, retry_after=1)
    assert retried == Fate(S.pending, NOW + timedelta(seconds=1), False, True)
    assert fate(Outcome.retry, POLICY.max_attempts, answer_lost=True) == Fate(
        S.failed, None, False, True
    )
    # A timeout after sending is reported as failed: final, not a refusal.
    timed_out = fate(Outcome.failed, 1, answer_lost=True, error="timeout")
    assert timed_out == Fate(S.failed, None, False, True) and not timed_out.suppresses


def test_a_lost_claim_goes_back_until_the_lost_attempts_exhaust_the_policy() -> None:
    assert lost_claim(1, POLICY) == (S.pending, None)
    assert lost_claim(POLICY.max_attempts - 1, POLICY) == (S.pending, None)
    status, error = lost_claim(POLICY.max_attempts, POLICY)
    assert status is S.failed
    assert error == "worker lost this delivery 3 times (died or stalled)"
