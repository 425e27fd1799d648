"""A channel that cannot be reached (domain.outage, domain.usecases.channel_guard): its
rows wait for the next probe without spending attempts, batches in between do not even
try, managers are noted after the notice and cleared when it is back, and past the
budget the recipients fail with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.delivery import Message, Outbound, Outcome, RunContent, SendResult
from domain.mailings import Channel
from domain.outage import Outage
from domain.recipients import AddressKind
from domain.runs import MailingRun
from domain.usecases.channel_guard import ChannelGuard

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONTENT = RunContent(1, "Spring news", Channel.email, "Hi")


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


class Relay:
    """A channel whose relay is up or down; counts the batches that reached it."""

    def __init__(self) -> None:
        self.up = False
        self.tries = 0

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        self.tries += 1
        outcome = Outcome.delivered if self.up else Outcome.unreachable
        error = None if self.up else "cannot connect: ConnectionRefusedError"
        return [SendResult(m.outbound.delivery_id, outcome, error) for m in messages]

    async def close(self) -> None:
        return None


class Runs:
    def __init__(self) -> None:
        self.runs = {7: MailingRun(mailing_id=1, scheduled_for=T0, id=7)}

    async def get(self, run_id: int) -> MailingRun | None:
        return self.runs.get(run_id)

    async def update(self, run: MailingRun) -> None:
        assert run.id is not None
        self.runs[run.id] = run


class Uow:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def __aenter__(self) -> Uow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        return None


def batch(count: int = 3) -> list[Message]:
    return [
        Message(Outbound(i, 7, i, AddressKind.email, f"r{i}@x.test", {}, 0), "S", "Hi")
        for i in range(1, count + 1)
    ]


def guard(runs: Runs, clock: Clock, **limits: timedelta) -> ChannelGuard:
    return ChannelGuard(lambda: Uow(runs), clock=clock, **limits)  # type: ignore[arg-type,return-value]


async def test_an_unreachable_relay_holds_the_rows_and_is_probed_not_hammered() -> None:
    runs, clock, relay = Runs(), Clock(), Relay()
    g = guard(runs, clock)
    first = await g.send(relay, CONTENT, batch(), 7, test=False)
    clock.at += timedelta(seconds=2)
    between = await g.send(relay, CONTENT, batch(), 7, test=False)  # before the probe
    assert relay.tries == 1  # the second batch did not even try
    assert {r.outcome for r in first + between} == {Outcome.unreachable}
    assert {r.retry_after for r in first} == {5.0}  # waits for the next probe
    assert {r.retry_after for r in between} == {3.0}
    clock.at += timedelta(seconds=3)
    await g.send(relay, CONTENT, batch(), 7, test=False)  # the probe: still down
    assert relay.tries == 2
    assert g.outages[Channel.email].wait(clock.at) == 10.0  # probes back off
    relay.up = True
    clock.at += timedelta(seconds=10)
    back = await g.send(relay, CONTENT, batch(), 7, test=False)
    assert {r.outcome for r in back} == {Outcome.delivered}
    assert g.outages[Channel.email].since is None


async def test_the_manager_is_noted_after_the_notice_and_cleared_when_it_is_back() -> None:
    runs, clock, relay = Runs(), Clock(), Relay()
    g = guard(runs, clock, notice=timedelta(minutes=1))
    await g.send(relay, CONTENT, batch(), 7, test=False)
    assert runs.runs[7].problem is None  # not yet: a blip is not worth a message
    clock.at += timedelta(seconds=61)
    await g.send(relay, CONTENT, batch(), 7, test=False)
    problem = runs.runs[7].problem or ""
    assert problem.startswith("channel-unreachable: cannot connect")
    relay.up = True
    clock.at += timedelta(minutes=2)
    await g.send(relay, CONTENT, batch(), 7, test=False)
    assert runs.runs[7].problem is None  # the watcher says it is back


async def test_past_the_outage_budget_the_recipients_fail_with_the_reason() -> None:
    runs, clock, relay = Runs(), Clock(), Relay()
    g = guard(runs, clock, budget=timedelta(hours=1))
    await g.send(relay, CONTENT, batch(), 7, test=False)
    clock.at += timedelta(hours=1, seconds=1)
    late = await g.send(relay, CONTENT, batch(), 7, test=False)
    assert {r.outcome for r in late} == {Outcome.failed}
    assert {r.error for r in late} == {
        "channel-unreachable-too-long: cannot connect: ConnectionRefusedError"
    }


async def test_a_test_send_through_an_unreachable_relay_is_retried_as_before() -> None:
    runs, clock, relay = Runs(), Clock(), Relay()
    results = await guard(runs, clock).send(relay, CONTENT, batch(1), 7, test=True)
    assert [r.outcome for r in results] == [Outcome.retry]


def test_an_outage_ends_only_once_and_tells_whom_it_noted() -> None:
    outage = Outage(notice=timedelta(0))
    assert outage.ended() is None  # there was none
    outage.failed(T0, "down")
    assert outage.to_tell(T0, 7) and not outage.to_tell(T0, 7)  # once per run
    assert outage.ended() == {7}
    assert outage.ended() is None
