"""A/B test runs: their results, and the rest released to the winner
(``usecases.ab_tests``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.ab_test import Decision, Metric, VariantResult


class ABTestStore(Protocol):
    """A/B test runs in the delivery queue: the sample's results, and the winner sent to
    the rest. Each method is one transaction of its own."""

    async def due(self, now: datetime) -> list[int]:
        """Runs (not cancelled) whose winner is not picked yet and whose waiting time
        (``ab_due_at``) is at or before ``now``, oldest first."""
        ...

    async def results(self, run_id: int, metric: Metric, variants: int) -> list[VariantResult]:
        """Per variant (0 … ``variants`` - 1) of the sample: ``sent`` is what the metric
        is a share of (delivered copies; for ``delivered``, every recipient of the
        variant), ``hits`` who opened, clicked, answered or was delivered."""
        ...

    async def release(self, run_id: int, decision: Decision, now: datetime) -> int | None:
        """Only if the run's winner was not picked yet, in one transaction: stores
        ``decision``, clears ``ab_due_at``, and gives the held rest the winner, due at
        once (idle workers are woken). Returns how many were released; None when the
        winner had been picked already (another instance, a press meanwhile)."""
        ...
