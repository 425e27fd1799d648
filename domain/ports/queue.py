"""The ``deliveries`` table as a work queue, split by who uses what.

``RunSnapshots`` fills it when a run starts (``usecases.launch``, ``recovery``);
``WorkQueue`` is what a ``Worker`` claims from and records into (``usecases.deliver``);
``ExpiredClaims`` hands back the rows of dead or stalled workers (``usecases.heartbeat``);
``DeliveryResults`` is the recording a mass send shares with the workers
(``domain.ports.mass_send.MassSendQueue``). One adapter implements them all
(``infrastructure.db.queue.SqlDeliveryQueue``).

Every method is one short transaction of its own. Run totals (``mailing_runs``
pending/sending/delivered/failed/refused) change in the same transaction as the rows they
count, so progress and statistics never count delivery rows.
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
from domain.webhooks import Event


class RunSnapshots(Protocol):
    """A started run's recipients into the queue: one pending row each."""

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


class DeliveryResults(Protocol):
    """Recording what became of claimed rows (a worker's batch, a mass send's reports)."""

    async def complete(
        self,
        results: Sequence[SendResult],
        now: datetime,
        policy: RetryPolicy,
        claims: Mapping[int, int] | None = None,
        events: Mapping[int, Event] | None = None,
    ) -> datetime | None:
        """Write a batch's results in bulk: delivered/failed/refused are final (refused also
        suppresses the address); retry goes back to pending with backoff, or to failed
        with the last error once the policy is exhausted. Final results are also added to
        the run's minute in ``run_minutes`` (one more statement), in the same transaction.
        Only rows still in ``sending`` change, and with ``claims`` (delivery id: claim
        token) only those still under that claim: a late result never lands on a row
        claimed again since. ``events`` (delivery id: webhook event) go into the outbox
        of the endpoints that want them in the same transaction, each only when its
        delivery's result is written now: results and events are stored together or not
        at all. Returns when the earliest retry written falls due (None: no retry)."""
        ...


class ExpiredClaims(Protocol):
    """Handing back the rows of workers that died or stalled."""

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


class WorkQueue(DeliveryResults, ExpiredClaims, Protocol):
    """What a ``Worker`` needs: claim a batch, record its results, hand back expired
    claims when no heartbeat does it for the process."""

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        """Up to ``limit`` pending deliveries of running runs that are due, moved to
        ``sending`` with ``claimed_at=now`` and ``claimed_by=worker`` (the claiming
        process's row in the worker registry), each under a new claim token
        (``Outbound.claim``); on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so concurrent
        workers never get the same row."""
        ...
