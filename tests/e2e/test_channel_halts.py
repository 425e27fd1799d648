"""A channel that cannot send at all (here: the relay refuses our SMTP login) stops the
run at once instead of retrying every recipient five times over minutes: the run and
its mailing are paused with the reason, the manager is told in the chat in their
language, the log has a WARNING line, and nobody's message is lost (issue 17, point 3).
A test send through such a channel says why it failed within seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from domain.mailings import Channel, MailingStatus
from domain.recipients import Address, AddressKind
from domain.runs import RunStatus
from tests.e2e.conftest import BotHarness, running_bot
from tests.e2e.test_delivery_faults import (
    M,
    current_run,
    deliveries,
    hurry_retries,
    mailing_status,
    prepare,
    press,
    wait_for,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp

READERS = [Address(AddressKind.email, f"reader{i:02d}@example.test") for i in range(30)]


@asynccontextmanager
async def refusing_relay(api: FakeBotAPI, url: str) -> AsyncIterator[tuple[BotHarness, FakeSmtp]]:
    async with (
        FakeSmtp(login=("mailer", "right")) as smtp,
        running_bot(
            api,
            url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="News <news@example.test>",
            smtp_username="mailer",
            smtp_password="wrong",
        ) as bot,
    ):
        yield bot, smtp


async def test_a_refused_smtp_login_says_why_to_a_test_and_pauses_a_run(
    fake_api: FakeBotAPI, migrated_pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with refusing_relay(fake_api, migrated_pg_url) as (bot, smtp):
        # a test send through a refusing relay says why within seconds
        tested = await prepare(bot, READERS, channel=Channel.email, subject="Hi", name="Test")
        mark = fake_api.mark(M)
        await press(bot, "test", tested)
        await bot.say(M, "me@example.com", language_code="en")
        # Before: five attempts with a 30 s-based backoff, minutes before any answer.
        summary = await fake_api.wait_for_message(M, since=mark, contains="Summary", timeout=15)
        assert "the SMTP server refused the login" in (summary.text or "")

        # a launch is paused, and the manager is told why
        mailing_id = await prepare(bot, READERS, channel=Channel.email, subject="Hi")
        mark = fake_api.mark(M)
        await press(bot, "launch", mailing_id)
        told = await fake_api.wait_for_message(M, since=mark, contains="is paused", timeout=20)
        run = await current_run(bot, mailing_id)
        rows = await deliveries(bot, run.id or 0)
        for _ in range(100):  # the batch in hand is recorded just after the pause
            if all(row_status != "sending" for _, row_status, _, _ in rows):
                break
            await asyncio.sleep(0.05)
            rows = await deliveries(bot, run.id or 0)
        run = await current_run(bot, mailing_id)
        status = await mailing_status(bot, mailing_id)
    text = told.text or ""
    assert "the SMTP server refused the login (SMTP_USERNAME / SMTP_PASSWORD): 535" in text
    assert "wrong" not in text  # the password never reaches the chat
    assert run.status is RunStatus.paused and status is MailingStatus.paused
    assert (run.problem or "").startswith("smtp-auth-refused: 535")
    assert {row_status for _, row_status, _, _ in rows} == {"pending"}  # nobody failed
    assert max(attempts for _, _, attempts, _ in rows) <= 1  # not retried over and over
    assert run.totals.pending == len(READERS) and run.totals.failed == 0
    assert smtp.messages == []
    halts = [r for r in caplog.records if r.levelno == logging.WARNING and "cannot send" in r.msg]
    assert halts and "smtp-auth-refused" in halts[0].getMessage()


async def test_an_unreachable_relay_holds_the_run_and_the_manager_hears_when_it_is_back(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with (
        FakeSmtp() as smtp,
        running_bot(
            fake_api,
            migrated_pg_url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="News <news@example.test>",
            delivery_max_attempts=1,  # before: the first refused connect failed people
            delivery_batch_size=5,
            channel_outage_notice_seconds=1,
            channel_outage_probe_seconds=0.5,  # 5 s in production: the relay is back at once
        ) as bot,
    ):
        smtp.delay = 0.05
        mailing_id = await prepare(bot, READERS, channel=Channel.email, subject="Hi")
        async with hurry_retries(bot):  # retries are due at once: none may be spent
            mark = fake_api.mark(M)
            await press(bot, "launch", mailing_id)
            await wait_for(lambda: len(smtp.messages) >= 5, 20, "5 mails")
            await smtp.go_down()
            waiting = await fake_api.wait_for_message(
                M, since=mark, contains="is waiting", timeout=30
            )
            await smtp.come_back()
            back = await fake_api.wait_for_message(
                M, since=mark, contains="can be reached again", timeout=60
            )
            summary = await fake_api.wait_for_message(
                M, since=mark, contains="Summary", timeout=60
            )
        run = await current_run(bot, mailing_id)
        rows = await deliveries(bot, run.id or 0)
    assert "the channel's server cannot be reached: cannot connect" in (waiting.text or "")
    assert "sending goes on" in (back.text or "")
    assert f"{len(READERS)} of {len(READERS)}" in (summary.text or "")
    assert run.status is RunStatus.completed
    # Only a mail whose connection was cut during DATA (the relay may have queued it) is
    # failed, as "uncertain"; everyone else got it, and the outage spent no attempt.
    failed = {value: error for value, status, _, error in rows if status != "delivered"}
    assert all((error or "").startswith("uncertain") for error in failed.values()), failed
    assert len(failed) <= 5  # at most the batch in flight when the relay went down
    assert run.totals.delivered == len(READERS) - len(failed)
    assert {attempts for _, _, attempts, _ in rows} == {1}
    assert all(smtp.received_by(a.value) for a in READERS if a.value not in failed)
