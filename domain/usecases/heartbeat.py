"""The heartbeat of a worker process: it says this process is alive, and hands the rows of
dead ones back to the queue (``domain.workers`` explains the rule)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from domain.clock import SystemClock
from domain.delivery import RetryPolicy
from domain.ports import Clock, DeliveryQueue, WorkerRegistry
from domain.workers import Liveness

log = logging.getLogger(__name__)


@dataclass
class Heartbeat:
    """One per process; ``worker_id`` names this process on the rows its workers claim."""

    registry: WorkerRegistry
    queue: DeliveryQueue
    name: str  # host:pid, for people reading the workers table
    liveness: Liveness = field(default_factory=Liveness)
    lease: timedelta = timedelta(minutes=5)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    worker_id: int | None = None

    async def start(self) -> int:
        """Register, then requeue at once what dead processes left behind: a restart
        after a crash picks up the crashed process's batches without waiting."""
        self.worker_id = await self.registry.register(self.name, self.clock.now())
        await self.requeue_lost()
        return self.worker_id

    async def beat(self) -> int:
        """Stamp this process's row, forget dead processes, requeue their rows; returns
        how many rows went back to the queue."""
        now = self.clock.now()
        if self.worker_id is None or not await self.registry.beat(self.worker_id, now):
            # Declared dead while alive (a long stall): what it claimed was requeued, and
            # its late results will be refused. It goes on under a new name.
            log.warning("Worker %s had been declared dead; registering again", self.worker_id)
            self.worker_id = await self.registry.register(self.name, now)
        await self.registry.forget_dead(self.liveness.dead_before(now))
        return await self.requeue_lost()

    async def requeue_lost(self) -> int:
        now = self.clock.now()
        moved = await self.queue.requeue_expired(
            self.lease, now, self.policy, dead_before=self.liveness.dead_before(now)
        )
        if moved:
            log.info("Requeued %d deliveries of dead workers or expired leases", moved)
        return moved

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every ``liveness.every`` until ``stop``; a failed beat is logged and retried
        at the next one (the database may be briefly away)."""
        every = self.liveness.every.total_seconds()
        while True:
            try:
                await asyncio.wait_for(stop.wait(), every)
                return
            except TimeoutError:
                pass
            try:
                await self.beat()
            except Exception:
                log.exception("Heartbeat failed; the next one retries")

    async def retire(self) -> None:
        """A clean stop, once every batch this process claimed is recorded."""
        if self.worker_id is not None:
            await self.registry.retire(self.worker_id)
            self.worker_id = None
