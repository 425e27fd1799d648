"""Launching a mailing, sending a test to oneself, and pausing, resuming or cancelling.

The Launch button, a test send and a scheduled slot all go through ``start``: the same
blocking checks (the preview's: no text, text too long, no recipients, channel not
configured…), then a run with a frozen copy of the content, then its recipients
snapshotted into the work queue in one set-based statement. The run is created paused and
switched to running only once its recipients are in, so no worker can see it half-filled
(a crash in between is mended at start-up: ``domain.usecases.recovery``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from domain import webhooks
from domain.clock import Clock, SystemClock
from domain.delivery import RunContent
from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.follow_ups import autodelete_at
from domain.local_time import LOCAL_TIME, MAX_ZONE_VALUES, LocalTime, Release, releases
from domain.mailings import CHANNEL_KINDS, Channel, Mailing, MailingStatus
from domain.personal import recipient_values
from domain.ports.channels import PaidBroadcasts
from domain.ports.queue import RunSnapshots
from domain.ports.rendering import MessageRenderer
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from domain.runs import MailingRun, RunStatus
from domain.segments import local_today
from domain.usecases import ab_tests
from domain.usecases import preview as previews
from domain.usecases.access import record
from domain.usecases.mailings import load_own
from domain.usecases.run_events import run_finished, run_started
from domain.usecases.webhooks import emit


@dataclass(frozen=True, slots=True)
class Launcher:
    """What starting a run needs besides the mailing."""

    queue: RunSnapshots
    renderer: MessageRenderer
    available: frozenset[Channel]  # the configured channels
    # Telegram's paid broadcasts: a fast launch the bot's Stars cannot pay for is refused.
    paid: PaidBroadcasts | None = None


class LaunchKind(enum.StrEnum):
    now = "now"  # the Launch button
    test = "test"  # one message to whoever pressed the button
    slot = "slot"  # a scheduled slot


@dataclass(frozen=True, slots=True)
class LaunchOrder:
    mailing_id: int
    kind: LaunchKind
    actor_id: int | None = None  # who pressed the button; None: the schedule
    slot: datetime | None = None  # the scheduled slot (kind slot)
    email: str | None = None  # where a test of an email mailing goes


async def start(
    uow_factory: UnitOfWorkFactory,
    launcher: Launcher,
    order: LaunchOrder,
    clock: Clock | None = None,
) -> MailingRun:
    """Check, create the run, snapshot its recipients and start it. Refused with
    ``launch-blocked`` (its ``reason`` a preview warning's key) and nothing started when a
    check fails; ``launch-already-running`` when the mailing runs already (a double press)
    or the slot fired already (another instance)."""
    now = (clock or SystemClock()).now()
    test = order.kind is LaunchKind.test
    async with uow_factory() as uow:
        mailing = await _mailing(uow, order)
        paid = None if test else launcher.paid  # a test send is never a paid broadcast
        check = await previews.inspect(uow, launcher.renderer, mailing, launcher.available, paid)
        problem = previews.stopper(check, to_lists=not test)
        if problem is not None:
            raise InvalidInput("launch-blocked", reason=problem.key, **problem.params)
        target = await _test_target(uow, mailing, order) if test else None
        ab = None if test else ab_tests.check_launch(mailing, check.audience.reachable)
        if not test:
            if mailing.status in (MailingStatus.running, MailingStatus.paused):
                raise IllegalTransition("launch-already-running")
            mailing.start()
        content = RunContent.of(mailing, test=test, sample=_sample(check))
        run = await uow.runs.add(
            MailingRun(
                mailing_id=order.mailing_id,
                scheduled_for=order.slot or now,
                content=content.to_json(),
                autodelete_at=autodelete_at(content, order.slot or now, test=test),
                ab_due_at=(order.slot or now) + ab.wait if ab is not None else None,
                status=RunStatus.paused,  # switched to running once filled
                launched_by=order.actor_id,
                is_test=test,
                started_at=order.slot or now,
            )
        )
        if run is None or run.id is None:
            raise IllegalTransition("launch-already-running")
        if not test:
            await uow.mailings.update(mailing)
            await _audit(uow, order, run.id)
        await uow.commit()
    if target is not None:
        await launcher.queue.snapshot_one(run.id, target)
    else:
        kinds = [AddressKind(k) for k in CHANNEL_KINDS[mailing.channel]]
        today = local_today(mailing.schedule.timezone, now)
        release = await release_of(uow_factory, mailing, now)
        split = ab.split(str(run.id)) if ab is not None else None
        await launcher.queue.snapshot(
            run.id, mailing.list_ids, kinds, mailing.targeting, today, release, split
        )
    return await start_run(uow_factory, run.id)


def _sample(check: previews.Preview) -> dict[str, object] | None:
    """The recipient the preview rendered for (a test send shows the same)."""
    first = check.audience.first
    return recipient_values(first) if first is not None else None


async def release_of(
    uow_factory: UnitOfWorkFactory, mailing: Mailing, now: datetime
) -> Release | None:
    """When each recipient's message may go, for a mailing sent at local time or with
    quiet hours (``domain.local_time``); None: all at once."""
    local = LocalTime.from_json(mailing.options.get(LOCAL_TIME))
    if local is None:
        return None
    values: list[str] = []
    if local.field is not None:
        async with uow_factory() as uow:
            values = await uow.audiences.field_values(
                mailing.list_ids, local.field, MAX_ZONE_VALUES
            )
    return releases(local, values, now)


async def _mailing(uow: UnitOfWork, order: LaunchOrder) -> Mailing:
    """A person's own mailing (or any, for an admin); the schedule's, whoever owns it."""
    if order.actor_id is not None:
        return (await load_own(uow, order.actor_id, order.mailing_id))[1]
    mailing = await uow.mailings.get(order.mailing_id)
    if mailing is None:
        raise NotFound("mailings-not-found")
    return mailing


async def _test_target(uow: UnitOfWork, mailing: Mailing, order: LaunchOrder) -> int:
    """The address a test goes to: the sender's Telegram chat, or ``order.email``."""
    if mailing.channel in (Channel.email, Channel.sendsay):
        if not order.email:
            raise InvalidInput("launch-test-needs-email")
        target = Address(AddressKind.email, order.email)
    else:
        target = Address(AddressKind.telegram, str(order.actor_id))
    address = await uow.addresses.upsert(target)
    assert address.id is not None
    return address.id


async def _audit(uow: UnitOfWork, order: LaunchOrder, run_id: int) -> None:
    target = ("mailing", order.mailing_id)
    if order.kind is LaunchKind.slot:
        slot = order.slot.isoformat() if order.slot else None
        await record(uow, None, "mailing.fire", target, {"run": run_id, "slot": slot})
    else:
        await record(uow, order.actor_id, "mailing.launch", target, {"run": run_id})


async def launch(
    uow_factory: UnitOfWorkFactory,
    queue: RunSnapshots,
    renderer: MessageRenderer,
    *,
    actor_id: int,
    mailing_id: int,
    available: frozenset[Channel],
    clock: Clock | None = None,
    paid: PaidBroadcasts | None = None,
) -> MailingRun:
    """Start sending now (the Launch button): ``start``."""
    order = LaunchOrder(mailing_id, LaunchKind.now, actor_id=actor_id)
    launcher = Launcher(queue, renderer, available, paid)
    return await start(uow_factory, launcher, order, clock)


async def send_test(
    uow_factory: UnitOfWorkFactory,
    queue: RunSnapshots,
    renderer: MessageRenderer,
    *,
    actor_id: int,
    mailing_id: int,
    available: frozenset[Channel],
    email: str | None = None,
    clock: Clock | None = None,
) -> MailingRun:
    """One message to the caller, through the real engine and the mailing's channel: their
    own Telegram chat (Telegram, webhook) or ``email`` (email channels; without it,
    ``launch-test-needs-email`` asks the bot to ask for one), after the same checks as a
    launch but those of the audience. The mailing's status does not change; the run is
    marked as a test.
    """
    order = LaunchOrder(mailing_id, LaunchKind.test, actor_id=actor_id, email=email)
    return await start(uow_factory, Launcher(queue, renderer, available), order, clock)


async def start_run(uow_factory: UnitOfWorkFactory, run_id: int) -> MailingRun:
    """A filled run (created paused, its recipients snapshotted) starts sending."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound()
        run.status = RunStatus.running
        run.note = f"recipients={run.totals.total}"
        await uow.runs.update(run)
        if webhooks.tells(run):
            now = SystemClock().now()
            await emit(uow, [webhooks.run_started(run, run.totals.total, now)])
        await uow.commit()
        fresh = await uow.runs.get(run_id)
    assert fresh is not None
    run_started(fresh, fresh.totals.total)
    return fresh


async def finish_runs(
    uow_factory: UnitOfWorkFactory, run_ids: list[int], clock: Clock | None = None
) -> list[MailingRun]:
    """Runs the queue found complete: their mailings move on (a recurring one waits for its
    next slot). Test runs leave their mailing alone."""
    finished: list[MailingRun] = []
    async with uow_factory() as uow:
        for run_id in run_ids:
            run = await uow.runs.get(run_id)
            if run is None:
                continue
            finished.append(run)
            await _mailing_moves_on(uow, run)
        await uow.commit()
    return finished


async def finish_drained_runs(uow_factory: UnitOfWorkFactory, now: datetime) -> list[MailingRun]:
    """Running runs with nothing left to send complete, and their mailings move on, in one
    transaction: a crash between the two can no longer leave a mailing "running" for ever
    behind a completed run."""
    async with uow_factory() as uow:
        finished = await uow.runs.complete_drained(now)
        for run in finished:
            await _mailing_moves_on(uow, run)
        await uow.commit()
    return finished


async def _mailing_moves_on(uow: UnitOfWork, run: MailingRun) -> None:
    """A run ended: log it, and its mailing moves on (a recurring one waits for its next
    slot). Test runs leave their mailing alone."""
    run_finished(run)
    if run.is_test or run.is_follow_up:
        return
    await emit(uow, [webhooks.run_finished(run, run.finished_at or SystemClock().now())])
    mailing = await uow.mailings.get(run.mailing_id)
    if mailing is None or mailing.status is not MailingStatus.running:
        return
    mailing.finish_run()
    await uow.mailings.update(mailing)


async def set_paused(
    uow_factory: UnitOfWorkFactory, *, actor_id: int, mailing_id: int, paused: bool
) -> MailingRun:
    """Pause or resume the current run; workers stop claiming between batches."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        run = await _current_run(uow, mailing_id)
        if run is None or run.status not in (RunStatus.running, RunStatus.paused):
            raise IllegalTransition("launch-not-running")
        if paused:
            mailing.pause()
        else:
            mailing.resume()
        run.status = RunStatus.paused if paused else RunStatus.running
        if not paused:
            run.problem = None  # the channel was mended (domain.usecases.halt): try again
        await uow.runs.update(run)
        await uow.mailings.update(mailing)
        action = "mailing.pause" if paused else "mailing.resume"
        await record(uow, actor_id, action, ("mailing", mailing_id), {"run": run.id})
        await uow.commit()
    return run


async def cancel(
    uow_factory: UnitOfWorkFactory, *, actor_id: int, mailing_id: int, clock: Clock | None = None
) -> MailingRun | None:
    """Stop for good: nothing more is sent; what was sent stays counted."""
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        mailing.cancel()
        run = await _current_run(uow, mailing_id)
        stopped = run is not None and run.status in (RunStatus.running, RunStatus.paused)
        if run is not None and stopped:
            run.status, run.finished_at = RunStatus.cancelled, now
            await uow.runs.update(run)
            if webhooks.tells(run):
                await emit(uow, [webhooks.run_finished(run, now)])
        await uow.mailings.update(mailing)
        await record(uow, actor_id, "mailing.cancel", ("mailing", mailing_id), {})
        await uow.commit()
        if run is not None and stopped:
            run = await uow.runs.get(run.id or 0) or run  # with the totals of this moment
            run_finished(run)
    return run


async def _current_run(uow: UnitOfWork, mailing_id: int) -> MailingRun | None:
    """The latest real run (test sends do not count)."""
    for run in await uow.runs.for_mailing(mailing_id, limit=10):
        if not run.is_test:
            return run
    return None


async def run_state(uow_factory: UnitOfWorkFactory, run_id: int) -> MailingRun | None:
    """A run with its totals, for progress messages (the watcher already checked rights)."""
    async with uow_factory() as uow:
        return await uow.runs.get(run_id)
