"""The worker processes and how idle ones learn of work (``usecases.heartbeat``, ``deliver``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol


class WorkSignal(Protocol):
    """Tells idle workers that work may have arrived (a run started or resumed, deliveries
    requeued), so that they need not poll the queue often."""

    @property
    def poll_every(self) -> float:
        """The longest an idle worker may wait without a signal, in seconds: a slow safety
        net while signals arrive, a short poll while they cannot (connection lost)."""
        ...

    def listen(self) -> asyncio.Event:
        """An event set at every signal from now on; its worker clears it before it looks
        for work, so a signal that arrives meanwhile is never lost."""
        ...


class WorkerRegistry(Protocol):
    """The worker processes alive now (the ``workers`` table): a row per process that
    claims deliveries, stamped at every heartbeat (``domain.workers``)."""

    async def register(self, name: str, now: datetime) -> int:
        """A new row for this process (``name``: host and pid, for people); its id."""
        ...

    async def beat(self, worker_id: int, now: datetime) -> bool:
        """Stamp the row; False if it is gone (the process was declared dead meanwhile)."""
        ...

    async def forget_dead(self, dead_before: datetime) -> int:
        """Remove the rows whose last beat is older than ``dead_before``."""
        ...

    async def retire(self, worker_id: int) -> None:
        """A clean stop: the process finished and recorded every batch it claimed."""
        ...
