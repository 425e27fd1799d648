"""Removing old per-recipient rows (``usecases.retention``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class DeliveryRetention(Protocol):
    """Deletes old per-recipient rows (deliveries, with the opens and clicks counted per
    delivery) and bounce messages read before ``finished_before``; nothing else.

    Only rows of runs that are over (completed, cancelled, failed, skipped) and finished
    before ``finished_before`` go. Run totals, runs and the audit log are never touched,
    nor any row of a running or paused run. Works in short transactions of at most
    ``batch_size`` rows each, so workers keep claiming and recording while it runs.
    """

    async def purge(self, finished_before: datetime, batch_size: int = 10_000) -> dict[int, int]:
        """Delete the rows; how many deliveries went per run id (runs with none left out)."""
        ...
