"""Between the worker and its channels: what a channel's answer means for the whole run.

* ``halted`` (the channel cannot send at all: an untrusted certificate, AUTH refused…)
  pauses the run with the reason (``domain.usecases.halt``); a test send fails with it.
* ``unreachable`` (the relay cannot be reached) starts or prolongs the channel's
  ``Outage`` (``domain.outage``): the rows wait for the next probe without spending an
  attempt, batches in between do not even try, managers are told after ``notice`` and
  again when it is back, and past ``budget`` the recipients fail with the reason. A test
  send is retried as before (nobody waits an hour for a test).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from domain.backoff import Backoff
from domain.clock import Clock, SystemClock
from domain.delivery import Message, Outcome, RunContent, SendResult
from domain.mailings import Channel
from domain.outage import GAVE_UP, PROBE_CAP, UNREACHABLE, Outage
from domain.ports.channels import DeliveryChannel
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.halt import clear_unreachable, halt_run, note_unreachable

log = logging.getLogger(__name__)


@dataclass
class ChannelGuard:
    uow_factory: UnitOfWorkFactory
    budget: timedelta = timedelta(hours=1)
    notice: timedelta = timedelta(minutes=1)
    probe: float = 5.0  # seconds before the first probe of an unreachable channel
    clock: Clock = field(default_factory=SystemClock)
    outages: dict[Channel, Outage] = field(default_factory=dict)

    async def send(
        self,
        channel: DeliveryChannel,
        content: RunContent,
        messages: Sequence[Message],
        run_id: int,
        *,
        test: bool,
    ) -> list[SendResult]:
        outage = self.outages.get(content.channel)
        if outage is None:
            probes = Backoff(first=self.probe, cap=max(PROBE_CAP, self.probe))
            outage = self.outages[content.channel] = Outage(self.budget, self.notice, probes)
        if outage.closed(self.clock.now()):
            results = [_unreachable(m, outage.detail) for m in messages]
        else:
            results = await channel.send(content, messages)
            await self._observe(content.channel, outage, results)
        results = await self._unreachable(outage, results, run_id, test)
        return await self._halted(results, run_id, test)

    async def _observe(self, name: Channel, outage: Outage, results: list[SendResult]) -> None:
        down = next((r.error for r in results if r.outcome is Outcome.unreachable), None)
        if down is not None:
            if outage.since is None:
                log.warning(
                    "Channel %s cannot be reached (%s); its sends wait without spending attempts",
                    name.value,
                    down,
                )
            outage.failed(self.clock.now(), down or "")
            return
        told = outage.ended()
        if told is not None:
            log.info("Channel %s can be reached again; its sends go on", name.value)
            if told:
                await clear_unreachable(self.uow_factory, told)

    async def _unreachable(
        self, outage: Outage, results: list[SendResult], run_id: int, test: bool
    ) -> list[SendResult]:
        if not any(r.outcome is Outcome.unreachable for r in results):
            return results
        now = self.clock.now()
        change: dict[str, object]
        if test:  # a test send is retried as before: nobody waits an hour for a test
            change = {"outcome": Outcome.retry}
        elif outage.over_budget(now):
            change = {"outcome": Outcome.failed, "error": f"{GAVE_UP}: {outage.detail}"}
        else:
            if outage.to_tell(now, run_id):
                log.warning("Run %s waits for its channel (%s)", run_id, outage.detail)
                await note_unreachable(self.uow_factory, run_id, f"{UNREACHABLE}: {outage.detail}")
            change = {"retry_after": max(outage.wait(now), 1.0)}
        return [
            replace(r, **change) if r.outcome is Outcome.unreachable else r  # type: ignore[arg-type]
            for r in results
        ]

    async def _halted(
        self, results: list[SendResult], run_id: int, test: bool
    ) -> list[SendResult]:
        broken = next((r.error for r in results if r.outcome is Outcome.halted), None)
        if broken is None:
            return results
        if not test:
            await halt_run(self.uow_factory, run_id, broken)
            return results
        log.warning("Test send of run %s failed: its channel cannot send (%s)", run_id, broken)
        failed = Outcome.failed
        return [replace(r, outcome=failed) if r.outcome is Outcome.halted else r for r in results]


def _unreachable(message: Message, detail: str) -> SendResult:
    return SendResult(message.outbound.delivery_id, Outcome.unreachable, detail)
