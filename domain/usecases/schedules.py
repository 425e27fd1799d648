"""Schedules that fire: the database is the source of truth.

A scheduler ticks (every ``SCHEDULER_TICK_SECONDS``); each tick looks at every scheduled
mailing, works out the slots that are due since its last run, and fires the latest one.
A slot fires at most once even with several bot instances on one database, because a run
is unique on (mailing, slot): the second instance's insert finds the slot taken.

Policies (stated and tested):
- a time or a recurrence set in the dialog schedules the mailing at once (no second
  press to forget), after the preview's blocking checks; a failed check keeps it a draft
  and says why (``set_schedule``);
- a slot missed while the service was down runs at start if it is less than the grace
  period old; older missed slots are recorded as skipped runs and not sent;
- if the previous run of the same mailing is still sending, the slot is skipped and
  recorded ("previous run still sending");
- a slot goes through the same launch as the Launch button (``launch.start``): if a check
  stops it (no recipients, text too long, channel not configured…), it is recorded as
  skipped with the check's key as its note, and a one-off mailing goes back to draft;
- the owner is told of every skipped slot in the chat (``ScheduleNotifier``), once per
  mailing and tick;
- a recurring schedule ends after ``ends_at`` or ``max_runs`` runs: the mailing completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.errors import IllegalTransition, InvalidInput
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.ports.rendering import MessageRenderer
from domain.ports.schedules import ScheduleCalculator, ScheduleNotifier
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import MailingRun, RunStatus, SkippedSlot
from domain.usecases import preview as previews
from domain.usecases.access import record
from domain.usecases.launch import Launcher, LaunchKind, LaunchOrder, start
from domain.usecases.mailings import ensure_editable, load_own
from domain.usecases.preview import Notice

MAX_SKIPPED_RECORDED = 50  # per tick and mailing, after a long downtime
MISSED = "missed"
BUSY = "previous run still sending"
TAKEN = "taken"  # another instance fired or recorded the slot: nothing to tell
GONE = "not scheduled any more"
# What the owner is told for a skip that is not a failed check (those are preview keys).
REASON_KEYS = {MISSED: "schedule-skip-missed", BUSY: "schedule-skip-busy"}


@dataclass(frozen=True, slots=True)
class Fired:
    mailing_id: int
    slot: datetime
    run_id: int | None  # None: skipped or taken by another instance
    note: str | None = None  # why it was skipped: one of the above, or a preview key
    params: dict[str, Any] = field(default_factory=dict)  # the failed check's figures

    @property
    def skipped(self) -> bool:
        """Recorded as skipped here (not launched, not left to another instance)."""
        return self.run_id is None and self.note not in (None, TAKEN, GONE)


@dataclass(frozen=True, slots=True)
class Checks:
    """What the preview's blocking checks need: the same as a launch's (``launch.start``)."""

    renderer: MessageRenderer
    available: frozenset[Channel]  # the configured channels


@dataclass(frozen=True, slots=True)
class Scheduling:
    """What setting a schedule did."""

    mailing: Mailing
    next_launch: datetime | None = None  # when it fires first; None: not scheduled
    stopped_by: Notice | None = None  # the check that kept it a draft (schedule kept)

    @property
    def scheduled(self) -> bool:
        return self.mailing.status is MailingStatus.scheduled


async def set_schedule(
    uow_factory: UnitOfWorkFactory,
    calculator: ScheduleCalculator,
    checks: Checks,
    *,
    actor_id: int,
    mailing_id: int,
    schedule: Schedule,
    now: datetime,
) -> Scheduling:
    """The dialog's schedule step: a time or a recurrence schedules the mailing at once,
    with no second press to forget, if the preview's blocking checks pass; if one fails the
    mailing stays (or goes back to) a draft with the schedule kept, and ``stopped_by``
    says why. "By hand" (``ScheduleKind.none``) takes a scheduled mailing off its
    schedule. All in one transaction."""
    calculator.validate(schedule, now)
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        ensure_editable(mailing)
        mailing.schedule = schedule
        problem = None
        if schedule.kind is not ScheduleKind.none:
            problem = await _stopper(uow, checks, mailing)
        wanted = schedule.kind is not ScheduleKind.none and problem is None
        target = ("mailing", mailing_id)
        if wanted and mailing.status is MailingStatus.draft:
            mailing.schedule_for(schedule)
            await record(uow, actor_id, "mailing.schedule", target, {})
        elif not wanted and mailing.status is MailingStatus.scheduled:
            mailing.unschedule()
            await record(uow, actor_id, "mailing.unschedule", target, {})
        await uow.mailings.update(mailing)
        await uow.commit()
    if mailing.status is not MailingStatus.scheduled:
        return Scheduling(mailing, None, problem)
    upcoming = calculator.next_times(schedule, now, 1)
    return Scheduling(mailing, upcoming[0] if upcoming else None)


async def schedule(
    uow_factory: UnitOfWorkFactory,
    calculator: ScheduleCalculator,
    checks: Checks,
    *,
    actor_id: int,
    mailing_id: int,
    now: datetime,
) -> tuple[Mailing, datetime | None]:
    """Turn a draft with a schedule into a scheduled mailing (the card's button); returns
    its next launch. Refused with ``schedule-blocked`` (its ``reason`` a preview warning's
    key) when a check that would stop the launch fails."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        ensure_editable(mailing)
        calculator.validate(mailing.schedule, now)
        problem = await _stopper(uow, checks, mailing)
        if problem is not None:
            raise InvalidInput("schedule-blocked", reason=problem.key, **problem.params)
        mailing.schedule_for(mailing.schedule)
        await uow.mailings.update(mailing)
        await record(uow, actor_id, "mailing.schedule", ("mailing", mailing_id), {})
        await uow.commit()
    upcoming = calculator.next_times(mailing.schedule, now, 1)
    return mailing, upcoming[0] if upcoming else None


async def _stopper(uow: UnitOfWork, checks: Checks, mailing: Mailing) -> Notice | None:
    """The first of the preview's checks that would stop this mailing's launch. The
    bot's Stars are weighed when a slot fires, not now (they may be topped up)."""
    found = await previews.inspect(uow, checks.renderer, mailing, checks.available)
    return previews.stopper(found)


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
    launcher: Launcher,
    calculator: ScheduleCalculator,
    *,
    now: datetime,
    grace: timedelta,
    notifier: ScheduleNotifier | None = None,
) -> list[Fired]:
    """Fire every due slot of every scheduled mailing (see the module's policies)."""
    fired: list[Fired] = []
    async with uow_factory() as uow:
        page = await uow.mailings.search(
            owner_id=None, status=MailingStatus.scheduled, page=0, size=10_000
        )
    for mailing in page.items:
        done = await _fire_due(uow_factory, launcher, calculator, mailing, now, grace)
        fired += done
        skipped = [f for f in done if f.skipped]
        if skipped and notifier is not None:
            await _tell_owner(uow_factory, notifier, mailing, skipped[-1])
        for launched in (f for f in done if f.run_id is not None):
            if notifier is not None and launched.run_id is not None:
                async with uow_factory() as uow:
                    owner = await uow.users.get(mailing.owner_id)
                await notifier.slot_launched(mailing, launched.run_id, owner)
    return fired


async def _tell_owner(
    uow_factory: UnitOfWorkFactory, notifier: ScheduleNotifier, mailing: Mailing, fired: Fired
) -> None:
    """The latest skip of this tick, in the owner's chat and language."""
    async with uow_factory() as uow:
        owner = await uow.users.get(mailing.owner_id)
        fresh = await uow.mailings.get(mailing.id or 0)
    note = fired.note or MISSED
    await notifier.slot_skipped(
        SkippedSlot(
            mailing=fresh or mailing,
            slot=fired.slot,
            reason=REASON_KEYS.get(note, note),
            params=fired.params,
            back_to_draft=fresh is not None and fresh.status is MailingStatus.draft,
        ),
        owner,
    )


async def _fire_due(
    uow_factory: UnitOfWorkFactory,
    launcher: Launcher,
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
    # Only the slots up to now: asking for 1000 and keeping those <= now computed up to
    # 1000 future occurrences for every scheduled mailing at every tick.
    due = calculator.next_times(mailing.schedule, anchor, 1000, until=now)
    if remaining is not None:
        due = due[: max(remaining, 0)]
    if not due:
        await _complete_if_over(uow_factory, calculator, mailing, anchor, remaining)
        return []
    *missed, latest = due
    results = [
        await _skip(uow_factory, mailing, slot, MISSED) for slot in missed[-MAX_SKIPPED_RECORDED:]
    ]
    if now - latest > grace:
        results.append(await _skip(uow_factory, mailing, latest, MISSED))
    else:
        results.append(await _launch_slot(uow_factory, launcher, mailing, latest))
    return results


async def _skip(
    uow_factory: UnitOfWorkFactory,
    mailing: Mailing,
    slot: datetime,
    note: str,
    params: dict[str, Any] | None = None,
    *,
    stopped: bool = False,
) -> Fired:
    """Record the slot as skipped; a one-off stopped by a check goes back to draft, so
    that its owner can mend it and schedule it again."""
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
        fresh = await uow.mailings.get(mailing.id) if stopped and run is not None else None
        if (
            fresh is not None
            and fresh.status is MailingStatus.scheduled
            and not fresh.schedule.is_recurring
        ):
            fresh.unschedule()
            await uow.mailings.update(fresh)
        await uow.commit()
    if run is None:
        return Fired(mailing.id, slot, None, TAKEN)
    return Fired(mailing.id, slot, None, note, dict(params or {}))


async def _launch_slot(
    uow_factory: UnitOfWorkFactory, launcher: Launcher, mailing: Mailing, slot: datetime
) -> Fired:
    assert mailing.id is not None
    async with uow_factory() as uow:
        fresh = await uow.mailings.get(mailing.id)
        if fresh is None or fresh.status is not MailingStatus.scheduled:
            return Fired(mailing.id, slot, None, GONE)
        busy = [
            r
            for r in await uow.runs.for_mailing(mailing.id, 5)
            if not r.is_test and r.status in (RunStatus.running, RunStatus.paused)
        ]
    if busy:
        return await _skip(uow_factory, mailing, slot, BUSY)
    order = LaunchOrder(mailing.id, LaunchKind.slot, slot=slot)
    try:
        run = await start(uow_factory, launcher, order)
    except InvalidInput as stopped:  # a check failed: the same as for the Launch button
        params = {k: v for k, v in stopped.params.items() if k != "reason"}
        reason = str(stopped.params["reason"])
        return await _skip(uow_factory, mailing, slot, reason, params, stopped=True)
    except IllegalTransition:  # another instance fired this slot first
        return Fired(mailing.id, slot, None, TAKEN)
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
