"""The heartbeat of a worker process: it says this process is alive, and hands the rows of
dead ones back to the queue (``domain.workers`` explains the rule)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.backoff import Backoff, short_error
from domain.clock import Clock, SystemClock
from domain.delivery import RetryPolicy
from domain.ports.queue import ExpiredClaims
from domain.ports.workers import WorkerRegistry
from domain.workers import Liveness

log = logging.getLogger(__name__)


@dataclass
class Heartbeat:
    """One per process; ``worker_id`` names this process on the rows its workers claim."""

    registry: WorkerRegistry
    queue: ExpiredClaims
    name: str  # host:pid, for people reading the workers table
    liveness: Liveness = field(default_factory=Liveness)
    lease: timedelta = timedelta(minutes=5)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    worker_id: int | None = None
    _beaten_at: datetime | None = None  # this process's last stamp that went through

    async def start(self) -> int:
        """Register, then requeue at once what dead processes left behind: a restart
        after a crash picks up the crashed process's batches without waiting."""
        now = self.clock.now()
        self.worker_id = await self.registry.register(self.name, now)
        self._beaten_at = now
        await self.requeue_lost()
        return self.worker_id

    async def start_when_up(self, stop: asyncio.Event) -> int | None:
        """``start``, tried again with backoff while the database is away; None when
        ``stop`` came first."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                return await self.start()
            except Exception as exc:
                wait = backoff.failed()
                log.warning(
                    "Cannot register the workers (%s); again in %g s", short_error(exc), wait
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        return None

    async def beat(self) -> int:
        """Stamp this process's row, forget dead processes, requeue their rows; returns
        how many rows went back to the queue."""
        now = self.clock.now()
        if self.worker_id is None or not await self.registry.beat(self.worker_id, now):
            # Declared dead while alive (a long stall): what it claimed was requeued, and
            # its late results will be refused. It goes on under a new name.
            log.warning("Worker %s had been declared dead; registering again", self.worker_id)
            self.worker_id = await self.registry.register(self.name, now)
        self._beaten_at = now
        await self.registry.forget_dead(self.liveness.dead_before(now))
        return await self.requeue_lost()

    async def requeue_lost(self) -> int:
        now = self.clock.now()
        if self._stale(now):
            # Back from a database outage before the next beat: this process is alive,
            # and says so first, or its own unrecorded batches would count as lost.
            assert self.worker_id is not None
            if await self.registry.beat(self.worker_id, now):
                self._beaten_at = now
        moved = await self.queue.requeue_expired(
            self.lease, now, self.policy, dead_before=self.liveness.dead_before(now)
        )
        if moved:
            log.info("Requeued %d deliveries of dead workers or expired leases", moved)
        return moved

    def _stale(self, now: datetime) -> bool:
        """Registered, and no beat went through for longer than one interval."""
        if self.worker_id is None:
            return False
        return self._beaten_at is None or now - self._beaten_at > self.liveness.every

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
