"""The ``deliveries`` work queue (``usecases.launch``, ``recovery``, ``deliver``,
``heartbeat``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from domain.ab_test import Split
from domain.delivery import Outbound, RetryPolicy, SendResult
from domain.local_time import Release
from domain.recipients import AddressKind
from domain.targeting import Targeting


class DeliveryQueue(Protocol):
    """The ``deliveries`` table as a work queue, shared by any number of workers.

    Every method is one short transaction of its own. Run totals (``mailing_runs``
    pending/sending/delivered/failed/refused) change in the same transaction as the rows
    they count, so progress and statistics never count delivery rows.
    """

    async def snapshot(
        self,
        run_id: int,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
        release: Release | None = None,
        split: Split | None = None,
    ) -> int:
        """Insert one pending delivery per distinct, not suppressed address of ``kinds`` in
        the lists (and selected by ``targeting``), in one ``INSERT … SELECT``; sets the
        run's pending total; returns it. With ``release``, each row is due
        (``next_attempt_at``) at its recipient's release instant. With ``split`` (an A/B
        test), the sample's rows get their ``variant`` and the rest are held
        (``domain.ab_test.HELD``) until ``ABTestStore.release``."""
        ...

    async def snapshot_one(self, run_id: int, address_id: int) -> int:
        """A test send: one delivery to one address (suppression ignored: it is staff)."""
        ...

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        """Up to ``limit`` pending deliveries of running runs that are due, moved to
        ``sending`` with ``claimed_at=now`` and ``claimed_by=worker`` (the claiming
        process's row in the worker registry), each under a new claim token
        (``Outbound.claim``); on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so concurrent
        workers never get the same row."""
        ...

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
    ) -> datetime | None:
        """Write a batch's results in bulk: delivered/failed/refused are final (refused also
        suppresses the address); retry goes back to pending with backoff, or to failed
        with the last error once the policy is exhausted. Final results are also added to
        the run's minute in ``run_minutes`` (one more statement), in the same transaction.
        Only rows still in ``sending`` change, and with ``claims`` (delivery id: claim
        token) only those still under that claim: a late result never lands on a row
        claimed again since. Returns when the earliest retry written falls due (None:
        no retry)."""
        ...

    async def requeue_expired(
        self,
        lease: timedelta,
        now: datetime,
        policy: RetryPolicy,
        dead_before: datetime | None = None,
    ) -> int:
        """Deliveries in ``sending`` whose worker is dead (its last beat before
        ``dead_before``, or its registry row gone) or that were claimed longer than
        ``lease`` ago go back to pending, or to failed once ``policy`` is exhausted;
        returns how many moved."""
        ...
