"""SmtpChannel against aiosmtpd on loopback (plain SMTP: security="none")."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.smtp import SmtpChannel
from tests.fakes.smtp import FakeSmtp
from tests.integration.channels.support import by_id, content, messages, outcomes

EMAIL = AddressKind.email
SENDER = "News <news@mailforge.test>"


@pytest.fixture
async def relay() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp() as fake:
        yield fake


def smtp_channel(relay: FakeSmtp, **kwargs: object) -> SmtpChannel:
    kwargs.setdefault("timeout", 2.0)
    return SmtpChannel(
        relay.host,
        relay.port,
        security="none",
        sender=SENDER,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_one_message_per_recipient_with_parts_and_headers(relay: FakeSmtp) -> None:
    channel = smtp_channel(relay, unsubscribe=lambda address_id: f"https://u.test/{address_id}")
    body = 'Hello <b>Ann</b>,\nsee <a href="https://x.example">this</a>'
    batch = messages(
        EMAIL, ["ann@x.test", "bob@x.test"], body, subject="Spring", attributes={"name": "Ann B"}
    )
    try:
        results = by_id(await channel.send(content(Channel.email), batch))
    finally:
        await channel.close()

    assert {r.outcome for r in results.values()} == {Outcome.delivered}
    assert len(relay.messages) == 2
    mail = relay.received_by("ann@x.test")[0]
    assert mail.rcpt_tos == ["ann@x.test"]
    assert mail.mail_from == "news@mailforge.test"
    msg = mail.message
    assert msg["To"] == "Ann B <ann@x.test>"
    assert msg["From"] == SENDER
    assert msg["Subject"] == "Spring"
    assert msg["Date"]
    assert msg["Message-ID"] == results[1].provider_id
    assert msg["Message-ID"].endswith("@mailforge.test>")
    assert msg["List-Unsubscribe"] == "<https://u.test/101>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Hello Ann,\nsee this (https://x.example)"
    assert "<b>Ann</b>,<br>" in html.get_content()
    assert '<a href="https://x.example">this</a>' in html.get_content()


async def test_subject_falls_back_and_no_unsubscribe_without_url(relay: FakeSmtp) -> None:
    channel = smtp_channel(relay)
    run = content(Channel.email, subject="From the run")
    await channel.send(run, messages(EMAIL, ["c@x.test"]))
    await channel.close()
    msg = relay.messages[0].message
    assert msg["Subject"] == "From the run"
    assert msg["List-Unsubscribe"] is None


async def test_rcpt_5xx_is_refused_and_4xx_is_retry(relay: FakeSmtp) -> None:
    relay.reject("gone@x.test", "550 5.1.1 No such user")
    relay.reject("busy@x.test", "451 4.3.0 Try again later", times=1)
    channel = smtp_channel(relay, pool_size=1)  # one connection: RSET keeps it usable
    batch = messages(EMAIL, ["gone@x.test", "busy@x.test", "ok@x.test", "not-an-address"])
    try:
        results = by_id(await channel.send(content(Channel.email), batch))
        again = await channel.send(content(Channel.email), messages(EMAIL, ["busy@x.test"]))
    finally:
        await channel.close()

    assert results[1].outcome is Outcome.refused
    assert (results[1].error or "").startswith("550")
    assert results[2].outcome is Outcome.retry
    assert results[3].outcome is Outcome.delivered
    assert results[4].outcome is Outcome.failed
    assert outcomes(again) == {1: Outcome.delivered}
    assert [m.rcpt_tos for m in relay.messages] == [["ok@x.test"], ["busy@x.test"]]
    assert relay.connections == 1


async def test_relay_down_loses_nothing_and_connections_are_reopened(relay: FakeSmtp) -> None:
    channel = smtp_channel(relay, pool_size=2)
    try:
        first = await channel.send(content(Channel.email), messages(EMAIL, ["a@x.test"] * 4))
        await relay.go_down()
        started = time.monotonic()
        during = await channel.send(content(Channel.email), messages(EMAIL, ["b@x.test"] * 20))
        took = time.monotonic() - started
        await relay.come_back()
        after = await channel.send(content(Channel.email), messages(EMAIL, ["b@x.test"] * 20))
        relay.drop_connections()  # the relay's idle timeout closes pooled connections
        dropped = await channel.send(content(Channel.email), messages(EMAIL, ["c@x.test"] * 3))
    finally:
        await channel.close()

    assert set(outcomes(first).values()) == {Outcome.delivered}
    assert set(outcomes(during).values()) == {Outcome.unreachable}  # no attempt spent
    assert took < 1.0  # the rest of the batch is handed back at once
    assert set(outcomes(after).values()) == {Outcome.delivered}
    assert set(outcomes(dropped).values()) == {Outcome.delivered}
    assert len(relay.received_by("b@x.test")) == 20
    assert len(relay.messages) == 27


async def test_a_large_batch_reuses_at_most_pool_size_connections(relay: FakeSmtp) -> None:
    channel = smtp_channel(relay, pool_size=8)
    values = [f"user{n}@x.test" for n in range(200)]
    try:
        results = await channel.send(content(Channel.email), messages(EMAIL, values))
        more = await channel.send(content(Channel.email), messages(EMAIL, values[:50]))
    finally:
        await channel.close()

    assert len(results) == 200
    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert set(outcomes(more).values()) == {Outcome.delivered}
    assert sorted(r for m in relay.messages[:200] for r in m.rcpt_tos) == sorted(values)
    assert relay.connections <= 8


async def test_the_pool_sends_over_its_connections_at_once(relay: FakeSmtp) -> None:
    relay.delay = 0.02  # a slow relay: one connection would wait on every DATA in turn
    channel = smtp_channel(relay, pool_size=8)
    try:
        results = await channel.send(content(Channel.email), messages(EMAIL, ["p@x.test"] * 40))
    finally:
        await channel.close()
    assert set(outcomes(results).values()) == {Outcome.delivered}
    assert relay.max_in_flight == 8


async def test_an_address_that_could_break_the_command_line_fails_alone(relay: FakeSmtp) -> None:
    channel = smtp_channel(relay)
    batch = messages(EMAIL, ["ann@x.test", "eve@x.test> NOTIFY=NEVER", "bob@x.test"])
    try:
        results = by_id(await channel.send(content(Channel.email), batch))
    finally:
        await channel.close()

    assert results[2].outcome is Outcome.failed and "cannot send to" in (results[2].error or "")
    assert results[1].outcome is results[3].outcome is Outcome.delivered
    assert sorted(m.rcpt_tos[0] for m in relay.messages) == ["ann@x.test", "bob@x.test"]


async def test_a_relay_that_stops_answering_during_data_fails_the_letter_as_uncertain(
    relay: FakeSmtp,
) -> None:
    """MAIL, RCPT, DATA and the letter are timed per pair (twice the timeout for both):
    a relay that never answers the letter costs at most that, and the letter may have
    been queued, so it is failed as uncertain, never sent again."""
    relay.delay = 5.0
    channel = smtp_channel(relay, timeout=0.5)
    started = time.monotonic()
    try:
        [result] = await channel.send(content(Channel.email), messages(EMAIL, ["ann@x.test"]))
    finally:
        await channel.close()
    assert time.monotonic() - started < 3.0
    assert result.outcome is Outcome.failed
    assert result.error is not None and result.error.startswith("uncertain")


async def test_a_relay_that_stops_answering_rcpt_is_unreachable_after_one_reconnect(
    relay: FakeSmtp,
) -> None:
    """Nothing was sent yet: the envelope's timeout is a link error, the channel connects
    once more, and when that also hangs the letters wait for the relay (no attempt)."""
    relay.rcpt_delay = 5.0
    channel = smtp_channel(relay, timeout=0.5)
    started = time.monotonic()
    try:
        results = await channel.send(
            content(Channel.email), messages(EMAIL, ["ann@x.test", "bob@x.test"])
        )
    finally:
        await channel.close()
    assert time.monotonic() - started < 6.0
    assert set(outcomes(results).values()) == {Outcome.unreachable}
    assert relay.messages == []
