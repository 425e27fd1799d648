"""The mass send of a big run (``domain.usecases.mass_send``) on an in-memory mass send queue
and a scripted provider: each step saved before it talks to the provider, the send made
once, reports recorded, and every way it can stop (not fit, cancelled, uncertain,
transient and permanent errors, reports that never come)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from domain import webhooks
from domain.delivery import Outcome, RunContent
from domain.mailings import Channel
from domain.mass_send import (
    MassSendError,
    MassSendExclusion,
    MassSendJob,
    MassSendMember,
    MassSendPhase,
    MassSendStatus,
)
from domain.usecases.mass_send import NO_REPORT, NOT_CONFIGURED, UNCERTAIN, MassSendRunner
from domain.webhooks import EventType
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_mass_send import MemoryMassSendQueue
from tests.fakes.team import StillClock

RUN = 7
CONTENT = RunContent(RUN, "News", Channel.sendsay, "Hi {{ name }}", subject="For {{ email }}")
ROWS = [("ann@x.io", {"name": "Ann"}), ("Bob@X.io", {}), ("cy@x.io", {"name": 3})]


class Provider:
    """``MassSendChannel`` as a script: what it answers, and what it was asked."""

    def __init__(self) -> None:
        self.fit = True
        self.members: list[MassSendMember] = []
        self.opened = self.sends = 0
        self.settle_after = 0  # ``settled`` polls answered False first
        self.report_rows: list[MassSendStatus] = []
        self.left_out: list[MassSendExclusion] = []
        self.send_error: MassSendError | None = None
        self.forgotten: list[int] = []

    def can_mass_send(self, content: RunContent) -> bool:
        return self.fit

    async def open_audience(self, run_id: int, content: RunContent) -> None:
        self.opened += 1
        self.members = []

    async def push_members(
        self, run_id: int, content: RunContent, members: Sequence[MassSendMember]
    ) -> None:
        self.members += members

    async def mass_send(self, run_id: int, content: RunContent) -> dict[str, Any]:
        if self.send_error is not None:
            raise self.send_error
        self.sends += 1
        return {"issue": 42}

    async def settled(self, ref: dict[str, Any]) -> bool:
        assert ref == {"issue": 42}
        self.settle_after -= 1
        return self.settle_after < 0

    async def report(self, ref: dict[str, Any], offset: int, limit: int) -> list[MassSendStatus]:
        return self.report_rows[offset : offset + limit]

    async def exclusions(self, ref: dict[str, Any]) -> list[MassSendExclusion]:
        return self.left_out

    async def forget(self, run_id: int) -> None:
        self.forgotten.append(run_id)


def sender(
    queue: MemoryMassSendQueue, provider: Provider | None, clock: StillClock, **kw: Any
) -> MassSendRunner:
    channels = {Channel.sendsay: provider} if provider is not None else {}
    return MassSendRunner(queue, channels, JinjaRenderer(), clock=clock, page_size=2, **kw)


def setup(state: dict[str, Any] | None = None, cancelled: bool = False) -> MemoryMassSendQueue:
    return MemoryMassSendQueue(MassSendJob(RUN, CONTENT, dict(state or {}), cancelled), ROWS)


async def test_a_mass_send_pushes_sends_once_and_records_the_reports() -> None:
    queue, provider, clock = setup(), Provider(), StillClock()
    runner = sender(queue, provider, clock)
    provider.settle_after = 1
    provider.report_rows = [
        MassSendStatus("ann@x.io", Outcome.delivered),
        MassSendStatus("bob@x.io", Outcome.refused, "no such user"),  # any case
        MassSendStatus("cy@x.io", None),  # not final yet
    ]
    assert await runner.run_once() is True  # claim and push; the send waits for the next take
    assert queue.job.phase is MassSendPhase.pushed and provider.sends == 0
    assert set(queue.statuses().values()) == {"sending"}
    assert provider.members == [
        MassSendMember("ann@x.io", {"name": "Ann", "email": "ann@x.io"}),
        MassSendMember("Bob@X.io", {"name": "", "email": "Bob@X.io"}),
        MassSendMember("cy@x.io", {"name": "3", "email": "cy@x.io"}),
    ]
    assert await runner.run_once() is True  # the send; the provider is still handing it out
    assert provider.sends == 1 and queue.job.phase is MassSendPhase.sent
    assert queue.job.state["ref"] == {"issue": 42}
    assert queue.due_at == clock.at + runner.poll_every
    # the job's last save counts, its next poll (not the "due at once" of the send before
    # it: a worker that forgot that past time slept its 5 s safety poll past the poll)
    assert runner.next_due == clock.at + runner.poll_every
    assert await runner.run_once() is False  # not due before its next poll
    clock.at += runner.poll_every
    await runner.run_once()  # settled: the final reports are recorded
    assert queue.statuses() == {
        "ann@x.io": "delivered",
        "Bob@X.io": "refused",
        "cy@x.io": "sending",
    }
    assert queue.rows[2].error == "no such user" and not queue.done
    provider.report_rows[2] = MassSendStatus("cy@x.io", Outcome.failed, "mailbox full")
    clock.at += runner.poll_every
    await runner.run_once()
    assert queue.statuses()["cy@x.io"] == "failed" and queue.done
    assert queue.job.phase is MassSendPhase.done and provider.forgotten == [RUN]
    assert provider.sends == 1


async def test_content_no_provider_can_send_as_one_issue_goes_one_by_one() -> None:
    queue, provider = setup(), Provider()
    provider.fit = False
    await sender(queue, provider, StillClock()).run_once()
    assert queue.released and set(queue.statuses().values()) == {"pending"}
    assert provider.opened == 0 and provider.sends == 0


async def test_a_channel_no_longer_configured_fails_the_rows() -> None:
    queue = setup()
    await sender(queue, None, StillClock()).run_once()
    assert set(queue.statuses().values()) == {"failed"} and queue.done
    assert {row.error for row in queue.rows.values()} == {NOT_CONFIGURED}


@pytest.mark.parametrize("phase", [MassSendPhase.queued, MassSendPhase.pushed])
async def test_a_run_cancelled_before_its_send_sends_nothing(phase: MassSendPhase) -> None:
    queue, provider = setup({"phase": phase.value}, cancelled=True), Provider()
    queue.rows[1].status = "sending"
    await sender(queue, provider, StillClock()).run_once()
    assert set(queue.statuses().values()) == {"pending"}  # unsent, like any cancelled run
    assert provider.sends == 0 and queue.done and provider.forgotten == [RUN]


async def test_a_job_found_mid_send_fails_as_uncertain_never_sends_twice() -> None:
    queue, provider = setup({"phase": MassSendPhase.sending.value}), Provider()
    await queue.claim_mass_send(RUN, StillClock().at)
    await sender(queue, provider, StillClock()).run_once()
    assert provider.sends == 0 and set(queue.statuses().values()) == {"failed"}
    assert queue.rows[1].error == UNCERTAIN and queue.job.state["problem"] == UNCERTAIN


async def test_a_transient_send_error_retries_the_send_and_a_permanent_one_fails() -> None:
    queue, provider, clock = setup({"phase": MassSendPhase.pushed.value}), Provider(), StillClock()
    await queue.claim_mass_send(RUN, clock.at)
    runner = sender(queue, provider, clock)
    provider.send_error = MassSendError("503", retry=True, retry_after=30)
    await runner.run_once()
    assert queue.job.phase is MassSendPhase.pushed  # not accepted: it may go again
    assert queue.job.state["attempts"] == 1 and queue.due_at == clock.at + timedelta(seconds=30)
    assert set(queue.statuses().values()) == {"sending"}
    clock.at += timedelta(seconds=30)
    provider.send_error = MassSendError("auth refused", retry=False)
    await runner.run_once()
    assert set(queue.statuses().values()) == {"failed"} and queue.rows[1].error == "auth refused"
    assert queue.done and provider.sends == 0


async def sent_job() -> tuple[StillClock, MemoryMassSendQueue, Provider]:
    """A job sent just now, its rows claimed; the provider reports Ann's delivery."""
    clock = StillClock()
    sent = {
        "phase": MassSendPhase.sent.value,
        "ref": {"issue": 42},
        "sent_at": clock.at.isoformat(),
    }
    queue, provider = setup(sent), Provider()
    await queue.claim_mass_send(RUN, clock.at)
    provider.report_rows = [MassSendStatus("ann@x.io", Outcome.delivered)]
    return clock, queue, provider


async def test_reports_that_never_come_fail_the_open_rows_after_the_wait() -> None:
    clock, queue, provider = await sent_job()
    runner = sender(queue, provider, clock, report_wait=timedelta(hours=1))
    await runner.run_once()
    assert not queue.done and queue.statuses()["ann@x.io"] == "delivered"
    clock.at += timedelta(hours=1)
    await runner.run_once()
    assert queue.statuses() == {"ann@x.io": "delivered", "Bob@X.io": "failed", "cy@x.io": "failed"}
    assert queue.rows[2].error == f"{NO_REPORT}: 3600 s" and queue.done


async def test_rows_the_finished_send_left_out_are_closed_with_the_providers_reason() -> None:
    clock, queue, provider = await sent_job()
    provider.left_out = [MassSendExclusion("unsubscribed at the provider", 2, Outcome.refused)]
    await sender(queue, provider, clock).run_once()
    assert queue.statuses() == {
        "ann@x.io": "delivered",
        "Bob@X.io": "refused",
        "cy@x.io": "refused",
    }
    assert queue.rows[3].error == "unsubscribed at the provider" and queue.done


# -- delivery.refused events (issue 22): told with the results, as a worker's batch -------


def told(queue: MemoryMassSendQueue) -> dict[int, dict[str, Any]]:
    """The ``delivery.refused`` events stored with their rows, by delivery id: their data."""
    assert {e.type for e in queue.told.values()} <= {EventType.delivery_refused}
    return {i: json.loads(e.body())["data"] for i, e in queue.told.items()}


async def test_refusals_in_the_report_are_told_with_their_results() -> None:
    clock, queue, provider = await sent_job()
    provider.report_rows += [
        MassSendStatus("BOB@x.io", Outcome.refused, "no such user"),  # the provider's case
        MassSendStatus("cy@x.io", Outcome.failed, "mailbox full"),  # failed: nothing to tell
    ]
    await sender(queue, provider, clock).run_once()

    assert queue.statuses() == {
        "ann@x.io": "delivered",
        "Bob@X.io": "refused",
        "cy@x.io": "failed",
    }
    assert told(queue) == {
        2: {
            "run_id": RUN,
            "delivery_id": 2,
            "recipient": {"kind": "email", "address": "Bob@X.io"},  # as stored
            "reason": "no such user",
        }
    }
    # The id a worker's batch would give it: one per delivery, whoever records it.
    assert queue.told[2].id == webhooks.once_id(EventType.delivery_refused, 2)


async def test_a_refusal_read_again_at_the_next_poll_is_not_told_again() -> None:
    clock, queue, provider = await sent_job()
    provider.report_rows += [
        MassSendStatus("bob@x.io", Outcome.refused, "blocked"),
        MassSendStatus("cy@x.io", None),  # not final yet: the job polls again
    ]
    runner = sender(queue, provider, clock)
    await runner.run_once()
    assert list(told(queue)) == [2] and not queue.done
    queue.told.clear()

    # Every poll reads the whole report: Bob's row is final already, so it is neither
    # recorded nor told again.
    provider.report_rows[2] = MassSendStatus("cy@x.io", Outcome.delivered)
    clock.at += runner.poll_every
    await runner.run_once()
    assert queue.done and queue.statuses()["Bob@X.io"] == "refused"
    assert queue.told == {}


async def test_rows_left_out_as_refused_are_each_told_and_failed_ones_are_not() -> None:
    clock, queue, provider = await sent_job()
    provider.left_out = [MassSendExclusion("stop-list", 2, Outcome.refused)]
    await sender(queue, provider, clock).run_once()
    assert {i: data["recipient"]["address"] for i, data in told(queue).items()} == {
        2: "Bob@X.io",
        3: "cy@x.io",
    }
    assert {data["reason"] for data in told(queue).values()} == {"stop-list"}

    clock, queue, provider = await sent_job()
    provider.left_out = [MassSendExclusion("unconfirmed", 2, Outcome.failed)]
    await sender(queue, provider, clock).run_once()
    assert set(queue.statuses().values()) == {"delivered", "failed"} and queue.told == {}
