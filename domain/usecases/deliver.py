"""The worker: claim a batch, render it, send it through its channel, record the results.

Each ``run_forever`` loop sizes its claims with a ``BatchSizer``: about what the channel
sends in ``batch_seconds``, at most ``batch_size``.

Delivery is at least once. A worker that dies after sending but before recording leaves
its batches in ``sending``; once its process's heartbeat has stopped (``domain.workers``)
or, for a live process whose send hangs, after the lease, they are requeued and sent
again. Each batch is recorded under its claim tokens, so a late record of a worker
declared dead changes nothing.

``run_forever`` pipelines one batch deep: while batch N's results are being written, the
worker already claims and sends batch N+1 (never N+2: it waits for N's record before it
hands N+1's results over). So the duplicates after a crash are bounded by **two batches
per dead worker** (the one being recorded and the one being sent): about 2 ×
``batch_seconds`` of sending, never more than 2 × ``batch_size`` rows. Claims still
happen only after the previous batch was sent, so pause and cancel act between batches
as before: a paused run is never claimed again, whatever is in flight is finished and
recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import webhooks
from domain.backoff import Backoff, short_error
from domain.clock import Clock, SystemClock
from domain.delivery import (
    BatchSizer,
    Message,
    Outbound,
    Outcome,
    RetryPolicy,
    RunContent,
    SendResult,
)
from domain.errors import InvalidInput
from domain.mailings import Channel
from domain.personal import recipient_values, render_personal
from domain.ports.channels import DeliveryChannel
from domain.ports.follow_ups import FollowUpQueue
from domain.ports.queue import WorkQueue
from domain.ports.rendering import MessageRenderer
from domain.ports.uow import UnitOfWorkFactory
from domain.ports.workers import WorkSignal
from domain.recipients import Address
from domain.runs import RunKind
from domain.tracking import TrackingUrls
from domain.tracking_plan import TrackingPlan
from domain.usecases.channel_guard import ChannelGuard
from domain.usecases.heartbeat import Heartbeat
from domain.usecases.launch import finish_drained_runs
from domain.usecases.mass_send import MassSendRunner

log = logging.getLogger(__name__)
RunsFinished = Callable[[list[int]], Awaitable[None]]


@dataclass
class Worker:
    queue: WorkQueue
    channels: Mapping[Channel, DeliveryChannel]
    renderer: MessageRenderer
    uow_factory: UnitOfWorkFactory
    on_finished: RunsFinished | None = None  # hears completed runs (mailings moved on)
    batch_size: int = 1000  # the most one claim takes (run_once always claims this many)
    batch_seconds: float = 1.0  # run_forever sizes claims to about this much sending
    lease: timedelta = timedelta(minutes=5)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    mass_sends: MassSendRunner | None = None  # mass sends of big runs (Sendsay), between batches
    heartbeat: Heartbeat | None = None  # this process's registry row: claims name it
    signal: WorkSignal | None = None  # wakes idle workers (PostgreSQL); None: they poll
    tracking: TrackingUrls | None = None  # opens and clicks on (TRACKING), per mailing too
    follow_ups: FollowUpQueue | None = None  # recalls and edits find their targets there
    outage_budget: timedelta = timedelta(hours=1)  # a channel unreachable this long fails
    outage_notice: timedelta = timedelta(minutes=1)  # … and its managers hear of it after
    outage_probe: float = 5.0  # s before its first probe, then doubling up to 60 s
    # Messages rendered between two turns of the event loop: a batch rendered in one go
    # held the loop for 80-210 ms (1,000 letters), while the connections of the other
    # worker's batch waited with their answers in (bench/delivery.py --e2e, email).
    render_slice: int = 32
    _contents: dict[int, RunContent] = field(default_factory=dict)
    _plans: dict[int, TrackingPlan | None] = field(default_factory=dict)
    _tests: set[int] = field(default_factory=set)  # test sends among the runs seen
    _batches: int = 0
    guard: ChannelGuard = field(init=False)
    _next_retry: datetime | None = None  # the earliest retry this worker wrote

    def __post_init__(self) -> None:
        self.guard = ChannelGuard(
            self.uow_factory,
            self.outage_budget,
            self.outage_notice,
            probe=self.outage_probe,
            clock=self.clock,
        )

    async def run_once(self) -> int:
        """One batch, recorded before this returns; how many deliveries it handled (0:
        nothing to do). ``run_forever`` does the same with one batch of overlap."""
        if self.mass_sends is not None:
            await self.mass_sends.run_once()
        batch = await self._claim(self.batch_size)
        if batch:
            await self._record(batch, await self._send(batch))
        await self._after_batch(len(batch), self.batch_size)
        return len(batch)

    async def _send(self, batch: Sequence[Outbound]) -> list[SendResult]:
        """Exactly one result per claimed delivery."""
        by_run: defaultdict[int, list[Outbound]] = defaultdict(list)
        for outbound in batch:
            by_run[outbound.run_id].append(outbound)
        results: list[SendResult] = []
        for run_id, outbounds in by_run.items():
            results += await self._send_run(run_id, outbounds)
        return results

    async def _claim(self, limit: int) -> list[Outbound]:
        worker = self.heartbeat.worker_id if self.heartbeat is not None else None
        return await self.queue.claim(limit, self.clock.now(), worker)

    async def _record(
        self,
        batch: Sequence[Outbound],
        results: Sequence[SendResult],
        stop: asyncio.Event | None = None,
    ) -> None:
        """Results under the batch's claim tokens: if this worker was declared dead and its
        rows were claimed again meanwhile, these late results change nothing.

        A failed write (the database is away) is tried again with backoff, for up to the
        lease, or until ``stop`` and one more try: the messages went out, and recording
        them when the database is back beats sending them again after the lease."""
        claims = {outbound.delivery_id: outbound.claim for outbound in batch}
        events = self._refusal_events(batch, results)
        started, backoff = self.clock.now(), Backoff()
        while True:
            try:
                now = self.clock.now()
                due = await self.queue.complete(results, now, self.policy, claims, events)
                break
            except Exception as exc:
                late = self.clock.now() - started >= self.lease
                if late or (stop is not None and stop.is_set()):
                    raise
                wait = backoff.failed()
                log.warning(
                    "Recording %d results failed (%s); again in %g s",
                    len(results),
                    short_error(exc),
                    wait,
                )
                await _woken(stop or asyncio.Event(), None, wait)
        if backoff.succeeded():
            log.info("Recorded %d results after the database came back", len(results))
        if due is not None and (self._next_retry is None or due < self._next_retry):
            self._next_retry = due

    def _refusal_events(
        self, batch: Sequence[Outbound], results: Sequence[SendResult]
    ) -> dict[int, webhooks.Event]:
        """The batch's ``delivery.refused`` events (``webhooks.refusal_events``); test
        sends, recalls and edits tell nothing."""
        told = (o for o in batch if self._tells(o.run_id))
        return webhooks.refusal_events(told, results, self.clock.now())

    def _tells(self, run_id: int) -> bool:
        content = self._contents.get(run_id)
        return run_id not in self._tests and content is not None and content.kind is RunKind.send

    async def _after_batch(self, handled: int, limit: int) -> None:
        self._batches += 1
        # A run is over once its rows are gone: look when the queue runs low, and now and
        # then while other runs keep the workers busy (a query per batch costs throughput).
        if handled < limit or self._batches % 10 == 0:
            finished = await finish_drained_runs(self.uow_factory, self.clock.now())
            if finished and self.on_finished is not None:
                await self.on_finished([run.id for run in finished if run.id is not None])

    async def _send_run(self, run_id: int, outbounds: Sequence[Outbound]) -> list[SendResult]:
        content = await self._content(run_id)
        channel = self.channels.get(content.channel) if content else None
        if content is None or channel is None:
            reason = "channel not configured" if content else "run not found"
            return [SendResult(o.delivery_id, Outcome.failed, reason) for o in outbounds]
        if content.kind is not RunKind.send:
            return await self._follow_up(content, channel, outbounds)
        messages: list[Message] = []
        results: list[SendResult] = []
        if run_id not in self._plans:
            self._plans[run_id] = TrackingPlan.of(run_id, content, self.tracking)
        plan = self._plans[run_id]
        for index, outbound in enumerate(outbounds):
            if index and index % self.render_slice == 0:
                await asyncio.sleep(0)  # let the sends in flight be answered
            try:
                message = self._render(content, outbound)
                messages.append(plan.apply(message) if plan else message)
            except InvalidInput as exc:
                detail = str(exc.params.get("detail", exc.key))
                results.append(SendResult(outbound.delivery_id, Outcome.failed, detail))
        if messages:
            test = run_id in self._tests
            results += await self.guard.send(channel, content, messages, run_id, test=test)
        return results

    async def _follow_up(
        self, content: RunContent, channel: DeliveryChannel, outbounds: Sequence[Outbound]
    ) -> list[SendResult]:
        """A recall or an edit: each recipient's message, by the id its send run kept."""
        ids = [outbound.delivery_id for outbound in outbounds]
        targets = await self.follow_ups.targets(ids) if self.follow_ups is not None else {}
        messages: list[Message] = []
        results: list[SendResult] = []
        for outbound in outbounds:
            target = targets.get(outbound.delivery_id)
            if target is None:
                results.append(SendResult(outbound.delivery_id, Outcome.failed, "no message id"))
                continue
            try:
                message = self._render(content, outbound) if content.kind is RunKind.edit else None
            except InvalidInput as exc:
                detail = str(exc.params.get("detail", exc.key))
                results.append(SendResult(outbound.delivery_id, Outcome.failed, detail))
                continue
            body = message.body if message is not None else ""
            messages.append(Message(outbound, None, body, target_ids=target))
        if messages:
            results += await channel.send(content, messages)
        return results

    def _render(self, content: RunContent, outbound: Outbound) -> Message:
        """The recipient's copy (a test send's: the preview's sample recipient's)."""
        values = content.sample if content.sample is not None else recipient_values_of(outbound)
        variant = content.variant(outbound.variant)  # an A/B test's, else the content's
        personal = render_personal(
            self.renderer, content.channel, variant.body, variant.subject, values
        )
        return Message(outbound, personal.subject_line, personal.body)

    async def _content(self, run_id: int) -> RunContent | None:
        if run_id not in self._contents:
            async with self.uow_factory() as uow:
                run = await uow.runs.get(run_id)
            if run is None:
                return None
            self._contents[run_id] = RunContent.from_json(run.content)
            if run.is_test:
                self._tests.add(run_id)
        return self._contents[run_id]

    async def requeue(self) -> int:
        if self.heartbeat is not None:
            return await self.heartbeat.requeue_lost()
        return await self.queue.requeue_expired(self.lease, self.clock.now(), self.policy)

    async def run_forever(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        """Work until ``stop`` is set; the batches in hand are always finished and recorded.

        Batch N+1 is claimed and sent while batch N's results are written (at most one
        record in flight per worker): see the module docstring for the duplicate bound.
        With nothing to do, the worker waits ``idle`` seconds, or with a ``signal`` until
        it is woken (or its safety poll), and never past the next retry it wrote. A step
        that fails (the database is away) is tried again after a backoff."""
        outage = Backoff()
        try:
            await self.requeue()
        except Exception as exc:
            _outage_began(outage, exc)  # the idle requeue catches up once it is back
        recording: asyncio.Task[None] | None = None
        sizer = BatchSizer(self.batch_size, self.batch_seconds)
        handled, limit = 0, sizer.size
        woken = self.signal.listen() if self.signal is not None else None
        try:
            while not stop.is_set():
                if woken is not None:
                    woken.clear()  # a signal from now on means: look again
                # Mass sends are looked for when the queue runs low, and every tenth batch
                # while other runs keep this worker busy (a query each time costs throughput).
                look = handled < limit or self._batches % 10 == 0
                handled, moved, limit = 0, False, sizer.size
                looked = self.clock.now()  # what is due by now is seen by the look below
                try:
                    moved = (
                        look and self.mass_sends is not None and await self.mass_sends.run_once()
                    )
                    batch = await self._claim(limit)
                    handled = len(batch)
                    if batch:
                        started = self.clock.now()
                        results = await self._send(batch)
                        took = (self.clock.now() - started).total_seconds()
                        sizer.observe(limit, handled, took)
                        await _settle(recording)  # never more than one batch behind
                        recording = asyncio.create_task(self._record(batch, results, stop))
                    if handled < limit:  # the queue runs low: record before looking
                        await _settle(recording)
                        recording = None
                    await self._after_batch(handled, limit)
                    if not handled and not moved:  # a mass send that moved is looked at again
                        poll = idle if self.signal is None else self.signal.poll_every
                        if not await _woken(stop, woken, self._idle_for(poll, looked)):
                            await self.requeue()
                    if outage.succeeded():
                        log.info("The delivery worker resumes: the database answers again")
                except Exception as exc:
                    handled, moved = 0, False
                    await _woken(stop, None, _outage_began(outage, exc))
        finally:
            await _settle(recording)

    def _idle_for(self, poll: float, looked: datetime) -> float:
        """How long to wait for work: ``poll``, or less when a retry this worker wrote or
        a mass send this process holds falls due sooner. A time not after ``looked`` (when
        the look just made began) had its chance, and is forgotten; one that fell due
        during the look (a mass send polled every 0.05 s) is looked at again at once,
        instead of after ``poll`` (5 s with signals)."""
        now, wait = self.clock.now(), poll
        if self._next_retry is not None:
            if self._next_retry <= looked:
                self._next_retry = None
            else:
                wait = min(wait, max((self._next_retry - now).total_seconds(), 0.0))
        if self.mass_sends is not None:
            self.mass_sends.forget_due(looked)
            if self.mass_sends.next_due is not None:
                wait = min(wait, max((self.mass_sends.next_due - now).total_seconds(), 0.0))
        return wait


async def _woken(stop: asyncio.Event, woken: asyncio.Event | None, seconds: float) -> bool:
    """Wait until ``stop``, a signal (``woken``) or ``seconds``; whether anything came."""
    waits = [asyncio.ensure_future(stop.wait())]
    if woken is not None:
        waits.append(asyncio.ensure_future(woken.wait()))
    try:
        done, _ = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return bool(done)


def _outage_began(outage: Backoff, exc: Exception) -> float:
    """Log a failed step (the first of a streak with its traceback, then one line each);
    how long to wait before the next try."""
    if outage.failures == 0:
        log.exception("A delivery step failed; the worker backs off and tries again")
    wait = outage.failed()
    if outage.failures > 1:
        log.warning("A delivery step failed again (%s); next try in %g s", short_error(exc), wait)
    return wait


async def _settle(recording: asyncio.Task[None] | None) -> None:
    """Wait for a batch's record; a failure is logged (its rows wait for their lease)."""
    if recording is None:
        return
    try:
        await recording
    except Exception:
        log.exception("Recording a delivery batch failed; its rows wait for their lease")


def recipient_values_of(outbound: Outbound) -> dict[str, object]:
    return recipient_values(Address(outbound.kind, outbound.value, dict(outbound.attributes)))
