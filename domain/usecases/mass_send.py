"""The mass send of a big run, step by step, resumable by any worker (see ``domain.mass_send``).

``MassSendRunner.run_once`` takes one due job and moves it as far as it can without waiting:
claim the rows and push the recipients, send once, then poll. While the provider is still
handing the send out or reports are missing, the job is put back with the time of its next
poll, so a worker never sleeps on it and a restarted worker simply takes it up again.

Crash safety: the phase is saved before each step that talks to the provider; pushing
again is harmless, and the only step that must not be repeated (the send) is bracketed by
``sending``/``sent``: a job found in ``sending`` fails as uncertain instead of sending twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import webhooks
from domain.clock import Clock, SystemClock
from domain.delivery import Outbound, Outcome, RetryPolicy, SendResult
from domain.mailings import Channel
from domain.mass_send import (
    MassSendError,
    MassSendJob,
    MassSendMember,
    MassSendPhase,
    MassSendStatus,
    close_excluded,
)
from domain.personal import member_values, template_keys
from domain.ports.mass_send import MassSendChannel, MassSendQueue
from domain.ports.rendering import MessageRenderer
from domain.recipients import Address

log = logging.getLogger(__name__)
UNCERTAIN = "uncertain: the worker stopped while the mass send was being accepted"
NOT_CONFIGURED = "channel not configured"
# Reasons as locale keys (the bot shows them in the manager's language), then a detail.
NO_REPORT = "run-reason-no-report"
NOT_FINISHED = "run-reason-not-finished"


@dataclass
class MassSendRunner:
    queue: MassSendQueue
    channels: Mapping[Channel, MassSendChannel]
    renderer: MessageRenderer
    lease: timedelta = timedelta(minutes=5)
    poll_every: timedelta = timedelta(seconds=10)
    report_wait: timedelta = timedelta(hours=6)  # how long missing reports are waited for
    page_size: int = 1000
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    # The earliest time a job this process saved falls due again (its next poll): an idle
    # worker that is woken only by signals must not sleep past it. Each job counts with
    # its last save: a send saved "due now" and then polled is due at its next poll.
    next_due: datetime | None = None
    _dues: dict[int, datetime] = field(default_factory=dict)

    def forget_due(self, looked: datetime) -> None:
        """Drop the due times not after ``looked``: the look that began then saw them."""
        self._dues = {run: due for run, due in self._dues.items() if due > looked}
        self.next_due = min(self._dues.values(), default=None)

    async def run_once(self) -> bool:
        """Advance one due job; False when there was none."""
        job = await self.queue.take_mass_send(self.clock.now(), self.lease)
        if job is None:
            return False
        try:
            await self._advance(job)
        except MassSendError as exc:
            await self._step_failed(job, exc)
        return True

    async def _advance(self, job: MassSendJob) -> None:
        channel = self.channels.get(job.content.channel)
        if channel is None:
            await self._give_up(job, NOT_CONFIGURED)
            return
        if job.cancelled and job.phase in (MassSendPhase.queued, MassSendPhase.pushed):
            await self.queue.unclaim_mass_send(job.run_id)  # unsent, like any cancelled run's rows
            await self._finish(job, channel)
            return
        if job.phase is MassSendPhase.queued:
            if not channel.can_mass_send(job.content):
                log.info("Run %s: content not fit for a mass send, sent one by one", job.run_id)
                await self.queue.release_mass_send(job.run_id)
                return
            await self.queue.claim_mass_send(job.run_id, self.clock.now())
            await self._push(job, channel)
            # The send goes at the next take: a pause or cancel meanwhile still holds.
            job.state["attempts"] = 0
            await self._save(job, MassSendPhase.pushed, self.clock.now())
            return
        if job.phase is MassSendPhase.pushed:
            await self._send(job, channel)
        if job.phase is MassSendPhase.sending:
            await self._give_up(job, UNCERTAIN, channel)
            return
        if job.phase is MassSendPhase.sent:
            await self._collect(job, channel)

    async def _push(self, job: MassSendJob, channel: MassSendChannel) -> None:
        keys = template_keys(self.renderer, job.content.body, job.content.subject)
        await channel.open_audience(job.run_id, job.content)  # a push always starts afresh
        after = 0
        while batch := await self.queue.mass_send_recipients(job.run_id, after, self.page_size):
            members = []
            for outbound in batch:
                address = Address(outbound.kind, outbound.value, dict(outbound.attributes))
                members.append(MassSendMember(outbound.value, member_values(address, keys)))
            await channel.push_members(job.run_id, job.content, members)
            after = batch[-1].delivery_id
            await self._save(job, job.phase, self.clock.now() + self.lease)  # keep the lease

    async def _send(self, job: MassSendJob, channel: MassSendChannel) -> None:
        await self._save(job, MassSendPhase.sending, self.clock.now() + self.lease)
        try:
            ref = await channel.mass_send(job.run_id, job.content)
        except MassSendError as exc:
            if exc.retry:  # not accepted: the send may go again
                job.state["phase"] = MassSendPhase.pushed.value
            raise
        now = self.clock.now()
        job.state.update(ref=ref, sent_at=now.isoformat(), attempts=0)
        await self._save(job, MassSendPhase.sent, now)

    async def _collect(self, job: MassSendJob, channel: MassSendChannel) -> None:
        ref = job.state.setdefault("ref", {})
        if not job.state.get("settled"):
            if not await channel.settled(ref):
                if self._late(job):
                    await self._give_up(job, f"{NOT_FINISHED}: {self._waited()} s", channel)
                    return
                await self._save(job, job.phase, self.clock.now() + self.poll_every)
                return
            job.state["settled"] = True
        offset, unsettled = 0, False
        while True:
            page = await channel.report(ref, offset, self.page_size)
            unsettled |= any(status.outcome is None for status in page)
            await self._record(job, page)
            if len(page) < self.page_size:
                break
            offset += len(page)
            await self._save(job, job.phase, self.clock.now() + self.lease)
        job.state["attempts"] = 0  # a full read: earlier transient errors are forgiven
        open_rows = await self.queue.mass_send_open(job.run_id)
        if open_rows and not unsettled:  # every report is final: the rest were left out
            closing = close_excluded(await channel.exclusions(ref), open_rows)
            if closing is not None:
                await self._close_open_rows(job, *closing)
                open_rows = await self.queue.mass_send_open(job.run_id)
        if not open_rows:
            await self._finish(job, channel)
        elif self._late(job):
            await self._give_up(job, f"{NO_REPORT}: {self._waited()} s", channel)
        else:
            await self._save(job, job.phase, self.clock.now() + self.poll_every)

    async def _close_open_rows(self, job: MassSendJob, outcome: Outcome, reason: str) -> None:
        """The run's rows still in ``sending`` get ``outcome`` with ``reason``, page by page."""
        after = 0
        while batch := await self.queue.mass_send_recipients(job.run_id, after, self.page_size):
            results = [SendResult(row.delivery_id, outcome, reason) for row in batch]
            await self._complete(batch, results)
            after = batch[-1].delivery_id

    def _waited(self) -> int:
        return int(self.report_wait.total_seconds())

    def _late(self, job: MassSendJob) -> bool:
        """Whether the wait for the reports of a sent job is over."""
        return self.clock.now() >= _sent_at(job) + self.report_wait

    async def _record(self, job: MassSendJob, page: list[MassSendStatus]) -> None:
        final = [status for status in page if status.outcome is not None]
        if not final:
            return
        rows = await self.queue.mass_send_rows(job.run_id, [s.address.lower() for s in final])
        results = []
        for status in final:
            row = rows.get(status.address.lower())
            if row is None or status.outcome is None:
                continue  # already recorded, or not ours
            outcome = Outcome.failed if status.outcome is Outcome.retry else status.outcome
            results.append(SendResult(row.delivery_id, outcome, status.error))
        await self._complete(rows.values(), results)

    async def _complete(self, rows: Iterable[Outbound], results: Sequence[SendResult]) -> None:
        """Record ``results`` of ``rows``, their refusals told (``delivery.refused``) in
        the same transaction, as a worker's batch is. A mass send is always a real send
        (a test send is one row, a recall or an edit is Telegram's): every refusal tells."""
        now = self.clock.now()
        events = webhooks.refusal_events(rows, results, now)
        await self.queue.complete(results, now, self.policy, events=events)

    async def _step_failed(self, job: MassSendJob, exc: MassSendError) -> None:
        attempts = int(job.state.get("attempts", 0)) + 1
        job.state.update(attempts=attempts, last_error=str(exc))
        # Once sent, the recipients got their letters: transient errors only delay reading
        # the report, up to the report wait, instead of failing rows that went out.
        sent = job.phase is MassSendPhase.sent
        if exc.retry and (not self.policy.exhausted(attempts) or (sent and not self._late(job))):
            delay = self.policy.delay(attempts, exc.retry_after)
            if sent and exc.retry_after is None:  # keep the polling pace, not a long backoff
                delay = min(delay, self.poll_every)
            log.warning("Run %s: mass send step failed, retry in %s: %s", job.run_id, delay, exc)
            await self._save(job, job.phase, self.clock.now() + delay)
            return
        log.error("Run %s: mass send failed: %s", job.run_id, exc)
        await self._give_up(job, str(exc), self.channels.get(job.content.channel))

    async def _give_up(
        self, job: MassSendJob, reason: str, channel: MassSendChannel | None = None
    ) -> None:
        now = self.clock.now()
        await self.queue.claim_mass_send(job.run_id, now)
        await self.queue.fail_mass_send(job.run_id, reason, now)
        job.state["problem"] = reason
        await self._finish(job, channel)

    async def _finish(self, job: MassSendJob, channel: MassSendChannel | None) -> None:
        await self._save(job, MassSendPhase.done, None)
        if channel is not None:
            try:
                await channel.forget(job.run_id)
            except MassSendError as exc:
                log.warning("Run %s: could not remove its audience: %s", job.run_id, exc)

    async def _save(self, job: MassSendJob, phase: MassSendPhase, due_at: datetime | None) -> None:
        job.state["phase"] = phase.value
        await self.queue.save_mass_send(job, due_at)
        if due_at is None:
            self._dues.pop(job.run_id, None)
        else:
            self._dues[job.run_id] = due_at
        self.next_due = min(self._dues.values(), default=None)


def _sent_at(job: MassSendJob) -> datetime:
    return datetime.fromisoformat(str(job.state["sent_at"]))
