"""Recall and edit the Telegram copies a run delivered, through the engine.

A follow-up is a run of its own (``RunKind``) whose deliveries are the send run's copies
still in their chats: workers claim it like any run, at the channel's rate, under leases
(a crash resumes it), with a live progress message and per-recipient results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.clock import Clock, SystemClock
from domain.delivery import RunContent
from domain.errors import InvalidInput, NotFound
from domain.failures import failure_kind
from domain.follow_ups import (
    BUSY,
    KEPT,
    check_new_text,
    check_source,
    check_text_editable,
    edited_content,
    follow_up_content,
    is_caption,
    kept_before,
)
from domain.ports.follow_ups import FollowUpQueue
from domain.ports.rendering import MessageRenderer
from domain.ports.stats import StatsReader
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import FollowUpStart, MailingRun, RunKind, RunStatus
from domain.usecases.access import record
from domain.usecases.mailings import load_own
from domain.usecases.run_events import run_started


@dataclass(frozen=True, slots=True)
class FollowUpSummary:
    """A follow-up as a send run's card shows it."""

    run: MailingRun
    kept: int  # copies out of reach (recall: older than 48 hours)

    @property
    def done(self) -> bool:
        return self.run.status not in (RunStatus.running, RunStatus.paused)


async def source_run(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    mailing_id: int,
    run_id: int,
    *,
    for_edit: bool = False,
) -> MailingRun:
    """The send run a follow-up would act on, checked (rights, channel, state; for an
    edit, that its copies have a text)."""
    async with uow_factory() as uow:
        await load_own(uow, actor_id, mailing_id)
        run = await uow.runs.get(run_id)
        if run is None or run.mailing_id != mailing_id:
            raise NotFound("stats-run-not-found")
        check_source(run, await uow.runs.follow_ups(run_id))
    if for_edit:
        check_text_editable(run)
    return run


async def recall(
    uow_factory: UnitOfWorkFactory,
    follow_ups: FollowUpQueue,
    *,
    actor_id: int,
    mailing_id: int,
    run_id: int,
    clock: Clock | None = None,
) -> FollowUpStart:
    """Delete every copy of run ``run_id`` still in its recipient's chat. Copies sent more
    than 48 hours ago are kept and recorded so; refused (``followup-…``) when the run
    cannot be recalled, ``followup-nothing-left`` when every copy is gone already."""
    return await _start(
        uow_factory, follow_ups, RunKind.recall, actor_id, mailing_id, run_id, clock
    )


@dataclass(frozen=True, slots=True)
class EditOrder:
    """The new text of a run's copies (Telegram HTML with placeholders)."""

    mailing_id: int
    run_id: int
    body: str
    keep_buttons: bool = True


async def check_edit(
    uow_factory: UnitOfWorkFactory,
    renderer: MessageRenderer,
    actor_id: int,
    order: EditOrder,
    example: Mapping[str, object],
) -> tuple[MailingRun, str]:
    """The send run and the new text as ``example`` (a recipient's values) would read it;
    refused with a clear key when Telegram would refuse it (HTML, empty, too long for a
    text or a caption) or a placeholder is broken."""
    source = await source_run(uow_factory, actor_id, order.mailing_id, order.run_id, for_edit=True)
    rendered = await asyncio.to_thread(renderer.render, order.body, example)  # CPU work
    check_new_text(order.body, rendered, caption=is_caption(source))
    return source, rendered


async def edit(
    uow_factory: UnitOfWorkFactory,
    follow_ups: FollowUpQueue,
    renderer: MessageRenderer,
    *,
    actor_id: int,
    order: EditOrder,
    example: Mapping[str, object],
    clock: Clock | None = None,
) -> FollowUpStart:
    """Replace the text (or caption) of every copy of the run still in its chat, each
    with its recipient's placeholders; the buttons are kept or removed."""
    source, _ = await check_edit(uow_factory, renderer, actor_id, order, example)
    content = edited_content(source, order.body, keep_buttons=order.keep_buttons)
    return await _begin(
        uow_factory, follow_ups, source, content, actor_id, (clock or SystemClock()).now()
    )


async def _start(
    uow_factory: UnitOfWorkFactory,
    follow_ups: FollowUpQueue,
    kind: RunKind,
    actor_id: int,
    mailing_id: int,
    run_id: int,
    clock: Clock | None,
) -> FollowUpStart:
    now = (clock or SystemClock()).now()
    source = await source_run(uow_factory, actor_id, mailing_id, run_id)
    content = follow_up_content(source, kind)
    return await _begin(uow_factory, follow_ups, source, content, actor_id, now)


async def _begin(
    uow_factory: UnitOfWorkFactory,
    follow_ups: FollowUpQueue,
    source: MailingRun,
    content: RunContent,
    actor_id: int,
    now: datetime,
) -> FollowUpStart:
    kind, mailing_id, run_id = content.kind, source.mailing_id, source.id or 0
    run = MailingRun(
        mailing_id=mailing_id,
        scheduled_for=now,
        content=content.to_json(),
        status=RunStatus.running,
        launched_by=actor_id,
        started_at=now,
        kind=kind,
        source_run_id=run_id,
    )
    started = await follow_ups.start(run, kept_before(kind, now))
    if started is None:
        raise InvalidInput("followup-nothing-left")
    async with uow_factory() as uow:
        details = {"run": started.run_id, "of": run_id, "kept": started.kept}
        await record(uow, actor_id, f"mailing.{kind.value}", ("mailing", mailing_id), details)
        await uow.commit()
        fresh = await uow.runs.get(started.run_id)
    if fresh is not None:
        run_started(fresh, started.pending + started.kept)
    return started


async def summaries(
    uow_factory: UnitOfWorkFactory, stats: StatsReader, run_id: int
) -> list[FollowUpSummary]:
    """The follow-ups of a send run (the caller checked the rights), oldest first."""
    async with uow_factory() as uow:
        found = await uow.runs.follow_ups(run_id)
    result = []
    for run in found:
        assert run.id is not None
        reasons = await stats.failure_reasons(run.id, 10) if run.totals.failed else []
        kept = sum(r.count for r in reasons if r.error == failure_kind(KEPT)[1])
        result.append(FollowUpSummary(run, kept))
    return result


async def auto_delete_due(
    uow_factory: UnitOfWorkFactory, follow_ups: FollowUpQueue, clock: Clock | None = None
) -> list[FollowUpStart]:
    """Start the recall of every finished run whose auto-delete is due, each exactly once
    (another bot instance, or a tick after a restart, finds it started); a run with a
    deletion or edit in progress waits for the next tick."""
    now = (clock or SystemClock()).now()
    async with uow_factory() as uow:
        due = [
            (run, await uow.runs.follow_ups(run.id or 0))
            for run in await uow.runs.due_autodeletes(now)
        ]
    started: list[FollowUpStart] = []
    for source, others in due:
        if any(other.status in BUSY for other in others):
            continue
        run = MailingRun(
            mailing_id=source.mailing_id,
            scheduled_for=now,
            content=follow_up_content(source, RunKind.recall).to_json(),
            status=RunStatus.running,
            started_at=now,
            kind=RunKind.recall,
            source_run_id=source.id,
        )
        begun = await follow_ups.start(run, kept_before(RunKind.recall, now), auto=True)
        if begun is None:
            continue
        async with uow_factory() as uow:
            details = {"run": begun.run_id, "of": source.id, "kept": begun.kept}
            await record(uow, None, "mailing.autodelete", ("mailing", source.mailing_id), details)
            await uow.commit()
        started.append(begun)
    return started
