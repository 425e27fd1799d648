"""Mass sends: one issue to many recipients at a provider (``usecases.mass_send``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.delivery import Outbound, RunContent
from domain.mass_send import MassSendExclusion, MassSendJob, MassSendMember, MassSendStatus
from domain.ports.queue import DeliveryResults


class MassSendQueue(DeliveryResults, Protocol):
    """The ``deliveries`` of runs marked for a mass send (see ``domain.mass_send``).

    ``RunSnapshots.snapshot`` marks a run (phase ``queued``) when its channel has a mass send
    threshold and the run reaches it; ``WorkQueue.claim`` and ``ExpiredClaims.requeue_expired``
    leave such runs alone. The results of a mass send are recorded like a worker's batch
    (``DeliveryResults.complete``), so run totals stay exact, refusals suppress and their
    ``delivery.refused`` events are written with them. Every method is one short
    transaction of its own.
    """

    async def take_mass_send(self, now: datetime, lease: timedelta) -> MassSendJob | None:
        """A marked run that is due (never taken, its holder's lease ended, or its next poll
        is due) and running, cancelled (``MassSendJob.cancelled``) or paused after its send, now
        held until ``now + lease``; on PostgreSQL with ``SKIP LOCKED`` so two workers never
        hold the same run."""
        ...

    async def save_mass_send(self, job: MassSendJob, due_at: datetime | None) -> None:
        """Store the job's state; ``due_at`` is when it may be taken next (None: never)."""
        ...

    async def release_mass_send(self, run_id: int) -> None:
        """Unmark the run: its rows go out one by one through the normal workers."""
        ...

    async def claim_mass_send(self, run_id: int, now: datetime) -> int:
        """Move every pending row of the run to ``sending`` (one attempt); how many moved."""
        ...

    async def unclaim_mass_send(self, run_id: int) -> int:
        """Move the run's rows in ``sending`` back to pending (a cancel before the send)."""
        ...

    async def mass_send_recipients(self, run_id: int, after_id: int, limit: int) -> list[Outbound]:
        """Up to ``limit`` rows of the run in ``sending`` with an id above ``after_id``."""
        ...

    async def mass_send_rows(self, run_id: int, values: Sequence[str]) -> dict[str, Outbound]:
        """The run's rows in ``sending`` whose address value is one of ``values`` (lower
        case), by that value: a report page's rows, with what their events tell."""
        ...

    async def mass_send_open(self, run_id: int) -> int:
        """How many of the run's rows are still pending or sending."""
        ...

    async def fail_mass_send(self, run_id: int, error: str, now: datetime) -> int:
        """Every row of the run still pending or sending becomes failed with ``error``."""
        ...


class MassSendChannel(Protocol):
    """A channel that can send one issue to many recipients and report on each (Sendsay).

    Every method raises ``MassSendError`` for a failed step and nothing else: ``retry``
    for transient failures, permanent otherwise. ``ref`` is what ``mass_send`` returned
    (JSON-serialisable; kept on the run across restarts); the channel may add to it what it
    learns later (the provider's id of the send), and the engine saves it with the job.
    """

    def can_mass_send(self, content: RunContent) -> bool:
        """Whether the content can go as one issue (each of its placeholders has a provider
        equivalent); otherwise the run goes out one message per recipient."""
        ...

    async def open_audience(self, run_id: int, content: RunContent) -> None:
        """Make the run's audience at the provider empty and ready for ``content`` (the
        fields its letter reads); called before the first page of every push."""
        ...

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[MassSendMember]
    ) -> None:
        """Add a page of recipients (with their values) to the run's audience at the provider;
        pushing the same page again is harmless."""
        ...

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        """Send the content to the run's audience once; the provider's ids of that send.
        A request that may have reached the provider and got no answer is permanent
        ("uncertain"), never ``retry``."""
        ...

    async def settled(self, ref: dict[str, Any]) -> bool:
        """Whether the provider has finished handing the send out (reports can be read)."""
        ...

    async def report(self, ref: dict[str, Any], offset: int, limit: int) -> list[MassSendStatus]:
        """A page of the send's per-recipient report; a short page is the last one."""
        ...

    async def exclusions(self, ref: dict[str, Any]) -> list[MassSendExclusion]:
        """Recipients the finished send left out (no report rows), counted by reason."""
        ...

    async def forget(self, run_id: int) -> None:
        """Remove the run's audience at the provider (best effort, after the send)."""
        ...
