"""Launching a mailing, sending a test to oneself, and pausing, resuming or cancelling.

A launch creates a run with a frozen copy of the content, then snapshots the recipients
into the work queue in one set-based statement. The run is created paused and switched
to running only once its recipients are in, so no worker can see it half-filled.
"""

from __future__ import annotations

from datetime import datetime

from domain.clock import SystemClock
from domain.delivery import RunContent
from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.mailings import CHANNEL_KINDS, Channel, MailingStatus
from domain.ports import Clock, DeliveryQueue, MessageRenderer, UnitOfWork, UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from domain.runs import MailingRun, RunStatus
from domain.usecases import preview as previews
from domain.usecases.access import record
from domain.usecases.mailings import load_own
from domain.usecases.run_events import run_finished, run_started


async def launch(
    uow_factory: UnitOfWorkFactory,
    queue: DeliveryQueue,
    renderer: MessageRenderer,
    *,
    actor_id: int,
    mailing_id: int,
    available: frozenset[Channel],
    clock: Clock | None = None,
) -> MailingRun:
    """Start sending now. Refused (nothing started) when the preview has a blocking
    problem, or when the mailing is already running (a double press)."""
    check = await previews.build(uow_factory, renderer, actor_id, mailing_id, available)
    blocking = [w for w in check.warnings if w.blocking]
    if blocking:
        raise InvalidInput("launch-blocked", reason=blocking[0].key, **blocking[0].params)
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        if mailing.status in (MailingStatus.running, MailingStatus.paused):
            raise IllegalTransition("launch-already-running")
        mailing.start()
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing_id,
                scheduled_for=now,
                content=RunContent.of(mailing).to_json(),
                status=RunStatus.paused,  # switched to running once filled
                launched_by=actor_id,
                started_at=now,
            )
        )
        if run is None or run.id is None:
            raise IllegalTransition("launch-already-running")
        await uow.mailings.update(mailing)
        await record(uow, actor_id, "mailing.launch", ("mailing", mailing_id), {"run": run.id})
        await uow.commit()
    kinds = [AddressKind(k) for k in CHANNEL_KINDS[mailing.channel]]
    total = await queue.snapshot(run.id, mailing.list_ids, kinds)
    return await start_run(uow_factory, run.id, total)


async def send_test(
    uow_factory: UnitOfWorkFactory,
    queue: DeliveryQueue,
    *,
    actor_id: int,
    mailing_id: int,
    email: str | None = None,
    clock: Clock | None = None,
) -> MailingRun:
    """One message to the caller, through the real engine and the mailing's channel: their
    own Telegram chat (Telegram, webhook) or ``email`` (email channels; without it,
    ``launch-test-needs-email`` asks the bot to ask for one). The mailing's status does not
    change; the run is marked as a test.
    """
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        if not mailing.body.strip() and not mailing.media:
            raise InvalidInput("preview-no-body")
        if mailing.channel in (Channel.email, Channel.sendsay):
            if not email:
                raise InvalidInput("launch-test-needs-email")
            target = Address(AddressKind.email, email)
        else:
            target = Address(AddressKind.telegram, str(actor_id))
        me = await uow.addresses.upsert(target)
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing_id,
                scheduled_for=now,
                content=RunContent.of(mailing).to_json(),
                status=RunStatus.paused,
                launched_by=actor_id,
                is_test=True,
                started_at=now,
            )
        )
        if run is None or run.id is None or me.id is None:
            raise IllegalTransition("launch-already-running")
        await uow.commit()
    total = await queue.snapshot_one(run.id, me.id)
    return await start_run(uow_factory, run.id, total)


async def start_run(uow_factory: UnitOfWorkFactory, run_id: int, total: int) -> MailingRun:
    """A filled run (created paused, its ``total`` recipients snapshotted) starts sending."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        if run is None:
            raise NotFound()
        run.status = RunStatus.running
        run.note = f"recipients={total}"
        await uow.runs.update(run)
        await uow.commit()
        fresh = await uow.runs.get(run_id)
    assert fresh is not None
    run_started(fresh, total)
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
    if run.is_test:
        return
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
