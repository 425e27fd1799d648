"""What a send result does to its delivery row: the rules the queue applies.

A worker hands each recipient's ``SendResult`` back to the queue
(``DeliveryResults.complete``); ``decide`` says what becomes of the row: its new status,
when it is tried again, whether its attempt is given back, whether its address is
suppressed, whether it may have reached the recipient already. ``lost_claim`` says what
becomes of a row whose worker died or stalled (``ExpiredClaims.requeue_expired``). The
SQL adapter (``infrastructure/db/queue.py``) only writes what these decide.

``attempts`` counts claims, so it includes the attempt that just ended (1 after a first
try), as ``RetryPolicy.exhausted`` and ``RetryPolicy.delay`` take it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.runs import DeliveryStatus


class Fate(NamedTuple):
    """A delivery row after a send result (a tuple: ``complete`` decides one per row)."""

    status: DeliveryStatus
    # A row back in ``pending``: when it is due again; None: as soon as it may be claimed
    # (a halted row waits for its run to be resumed).
    next_at: datetime | None
    # Nothing was tried (the channel could not be reached): the attempt does not count.
    given_back: bool
    # The request may have been carried out although its answer was lost: if the row is
    # delivered later, that may be a second copy (the mark is kept once set).
    answer_lost: bool

    @property
    def suppresses(self) -> bool:
        """Whether the row's address is suppressed everywhere (``suppresses``)."""
        return suppresses(self.status)


def suppresses(status: DeliveryStatus) -> bool:
    """A refused address is suppressed: left out of every later run and mailing (a 403
    from Telegram, a 5xx on RCPT). Delivered, failed and pending rows suppress nothing."""
    return status is DeliveryStatus.refused


def decide(result: SendResult, attempts: int, now: datetime, policy: RetryPolicy) -> Fate:
    """The row of ``result`` after it; ``attempts`` includes the attempt that ended."""
    outcome, lost = result.outcome, result.answer_lost
    if outcome is Outcome.halted:  # not sent: waits for the run to be resumed
        return Fate(DeliveryStatus.pending, None, False, lost)
    if outcome is Outcome.unreachable:  # not sent, attempt given back: the next probe
        return Fate(
            DeliveryStatus.pending, now + timedelta(seconds=result.retry_after or 0), True, lost
        )
    if outcome is not Outcome.retry:  # delivered, refused or failed: final
        return Fate(DeliveryStatus(outcome.value), None, False, lost)
    if policy.exhausted(attempts):  # the last error stays on the row
        return Fate(DeliveryStatus.failed, None, False, lost)
    return Fate(
        DeliveryStatus.pending, now + policy.delay(attempts, result.retry_after), False, lost
    )


def lost_claim(attempts: int, policy: RetryPolicy) -> tuple[DeliveryStatus, str | None]:
    """A row whose worker died or whose claim outlived its lease: back to ``pending``
    with its attempts kept (the lost one may have reached the recipient), or ``failed``
    with the reason once they exhaust ``policy``: a recipient that crashes its worker
    every time must not loop for ever."""
    if policy.exhausted(attempts):
        return (
            DeliveryStatus.failed,
            f"worker lost this delivery {attempts} times (died or stalled)",
        )
    return DeliveryStatus.pending, None
