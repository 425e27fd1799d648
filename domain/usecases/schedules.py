"""Schedules that fire: the database is the source of truth.

A scheduler ticks (every ``SCHEDULER_TICK_SECONDS``); each tick looks at every scheduled
mailing, works out the slots that are due since its last run, and fires the latest one.
A slot fires at most once even with several bot instances on one database, because a run
is unique on (mailing, slot): the second instance's insert finds the slot taken.

Policies (stated and tested):
- a slot missed while the service was down runs at start if it is less than the grace
  period old; older missed slots are recorded as skipped runs and not sent;
- if the previous run of the same mailing is still sending, the slot is skipped and
  recorded ("previous run still sending");
- a recurring schedule ends after ``ends_at`` or ``max_runs`` runs: the mailing completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.delivery import RunContent
from domain.errors import IllegalTransition
from domain.mailings import CHANNEL_KINDS, Mailing, MailingStatus, ScheduleKind
from domain.ports import DeliveryQueue, ScheduleCalculator, UnitOfWork, UnitOfWorkFactory
from domain.recipients import AddressKind
from domain.runs import MailingRun, RunStatus
from domain.usecases.access import record
from domain.usecases.launch import start_run
from domain.usecases.mailings import ensure_editable, load_own

MAX_SKIPPED_RECORDED = 50  # per tick and mailing, after a long downtime


@dataclass(frozen=True, slots=True)
class Fired:
    mailing_id: int
    slot: datetime
    run_id: int | None  # None: skipped or taken by another instance
    note: str | None = None


async def schedule(
    uow_factory: UnitOfWorkFactory,
    calculator: ScheduleCalculator,
    *,
    actor_id: int,
    mailing_id: int,
    now: datetime,
) -> tuple[Mailing, datetime | None]:
    """Turn a draft with a schedule into a scheduled mailing; returns its next launch."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        ensure_editable(mailing)
        calculator.validate(mailing.schedule, now)
        mailing.schedule_for(mailing.schedule)
        await uow.mailings.update(mailing)
        await record(uow, actor_id, "mailing.schedule", ("mailing", mailing_id), {})
        await uow.commit()
    upcoming = calculator.next_times(mailing.schedule, now, 1)
    return mailing, upcoming[0] if upcoming else None


async def unschedule(uow_factory: UnitOfWorkFactory, *, actor_id: int, mailing_id: int) -> Mailing:
    """Stop the timer; the mailing goes back to draft (its schedule is kept)."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        if mailing.status is not MailingStatus.scheduled:
            raise IllegalTransition("schedule-not-scheduled")
        mailing.unschedule()
        await uow.mailings.update(mailing)
        await record(uow, actor_id, "mailing.unschedule", ("mailing", mailing_id), {})
        await uow.commit()
    return mailing


async def next_launch(
    uow_factory: UnitOfWorkFactory, calculator: ScheduleCalculator, mailing: Mailing
) -> datetime | None:
    """When a scheduled mailing fires next (for its card)."""
    assert mailing.id is not None
    async with uow_factory() as uow:
        anchor = await _anchor(uow, mailing)
    upcoming = calculator.next_times(mailing.schedule, anchor, 1)
    return upcoming[0] if upcoming else None


async def _anchor(uow: UnitOfWork, mailing: Mailing) -> datetime:
    """Slots after this moment are still to fire: the last slot, or when it was scheduled."""
    assert mailing.id is not None
    last = next(
        (r for r in await uow.runs.for_mailing(mailing.id, limit=5) if not r.is_test), None
    )
    if last is not None:
        return last.scheduled_for
    assert mailing.updated_at is not None
    if mailing.schedule.kind is ScheduleKind.once and mailing.schedule.run_at is not None:
        return min(mailing.updated_at, mailing.schedule.run_at - timedelta(microseconds=1))
    return mailing.updated_at


async def tick(
    uow_factory: UnitOfWorkFactory,
    queue: DeliveryQueue,
    calculator: ScheduleCalculator,
    *,
    now: datetime,
    grace: timedelta,
) -> list[Fired]:
    """Fire every due slot of every scheduled mailing (see the module's policies)."""
    fired: list[Fired] = []
    async with uow_factory() as uow:
        page = await uow.mailings.search(
            owner_id=None, status=MailingStatus.scheduled, page=0, size=10_000
        )
    for mailing in page.items:
        fired += await _fire_due(uow_factory, queue, calculator, mailing, now, grace)
    return fired


async def _fire_due(
    uow_factory: UnitOfWorkFactory,
    queue: DeliveryQueue,
    calculator: ScheduleCalculator,
    mailing: Mailing,
    now: datetime,
    grace: timedelta,
) -> list[Fired]:
    assert mailing.id is not None
    async with uow_factory() as uow:
        anchor = await _anchor(uow, mailing)
        done_runs = len(
            [
                r
                for r in await uow.runs.for_mailing(mailing.id, 10_000)
                if not r.is_test and r.status is not RunStatus.skipped
            ]
        )
    remaining = None
    if mailing.schedule.max_runs is not None:
        remaining = mailing.schedule.max_runs - done_runs
    due = [s for s in calculator.next_times(mailing.schedule, anchor, 1000) if s <= now]
    if remaining is not None:
        due = due[: max(remaining, 0)]
    if not due:
        await _complete_if_over(uow_factory, calculator, mailing, anchor, remaining)
        return []
    *missed, latest = due
    results = [
        await _skip(uow_factory, mailing, slot, "missed")
        for slot in missed[-MAX_SKIPPED_RECORDED:]
    ]
    if now - latest > grace:
        results.append(await _skip(uow_factory, mailing, latest, "missed"))
    else:
        results.append(await _launch_slot(uow_factory, queue, mailing, latest))
    return results


async def _skip(
    uow_factory: UnitOfWorkFactory, mailing: Mailing, slot: datetime, note: str
) -> Fired:
    assert mailing.id is not None
    async with uow_factory() as uow:
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing.id,
                scheduled_for=slot,
                status=RunStatus.skipped,
                note=note,
                started_at=slot,
                finished_at=slot,
            )
        )
        await uow.commit()
    return Fired(mailing.id, slot, None, note if run is not None else "taken")


async def _launch_slot(
    uow_factory: UnitOfWorkFactory, queue: DeliveryQueue, mailing: Mailing, slot: datetime
) -> Fired:
    assert mailing.id is not None
    async with uow_factory() as uow:
        fresh = await uow.mailings.get(mailing.id)
        if fresh is None or fresh.status is not MailingStatus.scheduled:
            return Fired(mailing.id, slot, None, "not scheduled any more")
        busy = [
            r
            for r in await uow.runs.for_mailing(mailing.id, 5)
            if not r.is_test and r.status in (RunStatus.running, RunStatus.paused)
        ]
    if busy:
        return await _skip(uow_factory, mailing, slot, "previous run still sending")
    async with uow_factory() as uow:
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing.id,
                scheduled_for=slot,
                content=RunContent.of(fresh).to_json(),
                status=RunStatus.paused,
                started_at=slot,
            )
        )
        if run is None or run.id is None:  # another instance fired this slot first
            return Fired(mailing.id, slot, None, "taken")
        fresh.start()
        await uow.mailings.update(fresh)
        await record(
            uow,
            None,
            "mailing.fire",
            ("mailing", mailing.id),
            {"run": run.id, "slot": slot.isoformat()},
        )
        await uow.commit()
    kinds = [AddressKind(k) for k in CHANNEL_KINDS[fresh.channel]]
    total = await queue.snapshot(run.id, fresh.list_ids, kinds)
    await start_run(uow_factory, run.id, total)
    return Fired(mailing.id, slot, run.id)


async def _complete_if_over(
    uow_factory: UnitOfWorkFactory,
    calculator: ScheduleCalculator,
    mailing: Mailing,
    anchor: datetime,
    remaining: int | None,
) -> None:
    """A schedule with no slot left (once fired, ends passed, max runs reached) is done."""
    if calculator.next_times(mailing.schedule, anchor, 1) and (remaining is None or remaining > 0):
        return
    async with uow_factory() as uow:
        fresh = await uow.mailings.get(mailing.id or 0)
        if fresh is None or fresh.status is not MailingStatus.scheduled:
            return
        last = next(iter(await uow.runs.for_mailing(fresh.id or 0, 1)), None)
        if (
            last is not None
            and last.status is RunStatus.skipped
            and not fresh.schedule.is_recurring
        ):
            fresh.cancel()  # a one-off whose slot was missed: it never went out
        else:
            fresh.end_schedule()
        await uow.mailings.update(fresh)
        await uow.commit()
