"""The in-process scheduler: APScheduler ticks, the database decides what fires.

Nothing about a schedule lives in APScheduler's memory, so a restart, a second bot
instance or a changed schedule needs no job bookkeeping: every tick reads the scheduled
mailings and fires their due slots (``domain.usecases.schedules``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.clock import Clock, SystemClock
from domain.ports.schedules import ScheduleCalculator, ScheduleNotifier
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases import schedules
from domain.usecases.launch import Launcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """Housekeeping run by the bot's scheduler (never by ``mailforge worker``): every
    ``every``, first ``first_after`` after start so start-up is not slowed down."""

    id: str
    run: Callable[[], Awaitable[object]]
    every: timedelta
    first_after: timedelta


class ScheduleRunner:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        launcher: Launcher,
        calculator: ScheduleCalculator,
        *,
        tick_seconds: float,
        grace: timedelta,
        clock: Clock | None = None,
        jobs: Sequence[PeriodicJob] = (),
        notifier: ScheduleNotifier | None = None,
    ) -> None:
        self.uow_factory, self.launcher, self.calculator = uow_factory, launcher, calculator
        self.notifier = notifier
        self.jobs = tuple(jobs)
        self.tick_seconds, self.grace = tick_seconds, grace
        self.clock = clock or SystemClock()
        self._scheduler: AsyncIOScheduler | None = None
        self._last_tick = 0.0  # monotonic time the last tick ended (or the scheduler started)
        self._stopping = False

    async def tick(self) -> list[schedules.Fired]:
        fired = await schedules.tick(
            self.uow_factory,
            self.launcher,
            self.calculator,
            now=self.clock.now(),
            grace=self.grace,
            notifier=self.notifier,
        )
        for f in fired:
            log.info(
                "Schedule slot %s of mailing %s: run=%s %s",
                f.slot.isoformat(),
                f.mailing_id,
                f.run_id,
                f.note or "",
                extra={"mailing_id": f.mailing_id, "run_id": f.run_id},
            )
        return fired

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("Scheduler tick failed; the next one retries")
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            self._ended_by_stop("mailforge-schedules")
        finally:
            self._last_tick = time.monotonic()

    @staticmethod
    def _ended_by_stop(job_id: str) -> None:
        """A job cut short by ``stop`` (a cancellation from anywhere else propagates): its
        transaction rolls back and the next start runs it again, so it ends quietly instead
        of as APScheduler's "Error running job" traceback."""
        log.info("Job %s was stopped with the bot; it runs again after the next start", job_id)

    def start(self) -> None:
        self._stopping = False
        self._last_tick = time.monotonic()
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.tick_seconds,
            id="mailforge-schedules",
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock.now(),
        )
        for job in self.jobs:
            self._scheduler.add_job(
                self._logged(job),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.id,
                name=job.id,
                max_instances=1,
                coalesce=True,
                next_run_time=self.clock.now() + job.first_after,
            )
        self._scheduler.start()

    @property
    def alive(self) -> bool:
        """Started, and ticking: a tick ended within three intervals plus a minute (a tick
        that launches a large run snapshots its recipients and may take a while)."""
        if self._scheduler is None or not self._scheduler.running:
            return False
        return time.monotonic() - self._last_tick < 3 * self.tick_seconds + 60

    def next_run(self, job_id: str) -> datetime | None:
        """When a job fires next (None: not scheduled, or the scheduler is not running)."""
        job = self._scheduler.get_job(job_id) if self._scheduler is not None else None
        return job.next_run_time if job is not None else None

    def stop(self) -> None:
        """Shuts the scheduler down; a job still running is cancelled and ends quietly."""
        if self._scheduler is not None and self._scheduler.running:
            self._stopping = True
            self._scheduler.shutdown(wait=False)

    def _logged(self, job: PeriodicJob) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await job.run()
            except Exception:
                log.exception("Job %s failed; it runs again in %s", job.id, job.every)
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                self._ended_by_stop(job.id)

        return run
