"""The delivery engine under faults, driven through the bot: a 429 storm, Bot API 5xx, an
SMTP relay that goes away and comes back, pause/resume and cancel from the card buttons.

Retries of transient failures are scheduled by ``RetryPolicy`` (base 30 s, full jitter).
Where a test needs them to happen now, ``hurry_retries`` moves ``deliveries.next_attempt_at``
of pending rows into the past: exactly what the clock would do, only sooner.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text

from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import MailingRun, RunStatus
from infrastructure.db.wakeup import NOTIFY
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp

M = 2002


async def prepare(
    bot: BotHarness,
    addresses: Sequence[Address],
    *,
    channel: Channel = Channel.telegram,
    subject: str | None = None,
    fast: bool = False,
    name: str = "Storm",
) -> int:
    """A mailing ``name`` of the manager to a list of ``addresses`` of its own."""
    await grant(bot, M)
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"Faulty {name}", M))
        assert rlist.id is not None
        ids: list[int] = []
        for address in addresses:
            stored = await uow.addresses.upsert(address)
            assert stored.id is not None
            ids.append(stored.id)
        await uow.members.add_members(rlist.id, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name=name,
                channel=channel,
                body="Hello {{ address }}",
                subject=subject,
                list_ids=[rlist.id],
                fast=fast,
            )
        )
        await uow.commit()
    assert mailing.id is not None
    return mailing.id


def chats_of(first: int, count: int) -> list[int]:
    return list(range(first, first + count))


def telegram(chats: Sequence[int]) -> list[Address]:
    return [Address(AddressKind.telegram, str(chat)) for chat in chats]


async def press(bot: BotHarness, action: str, mailing_id: int) -> str:
    """Press a card button (``m:<action>:<id>:0:``) as the manager; the callback answer."""
    menu = await bot.say(M, "/help", language_code="en")
    answers = len(bot.api.callback_answers)
    bot.api.press_data(M, f"m:{action}:{mailing_id}:0:", menu.message_id)
    answer = await bot.api.wait_for_callback_answer(since=answers)
    return str(answer.get("text", ""))


async def launch_and_wait(bot: BotHarness, mailing_id: int, within: float = 30) -> str:
    mark = bot.api.mark(M)
    await press(bot, "launch", mailing_id)
    summary = await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=within)
    return summary.text or ""


async def current_run(bot: BotHarness, mailing_id: int) -> MailingRun:
    async with bot.app.db.uow_factory() as uow:
        run = await uow.runs.last_for_mailing(mailing_id)
    assert run is not None
    return run


async def mailing_status(bot: BotHarness, mailing_id: int) -> MailingStatus:
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.get(mailing_id)
    assert mailing is not None
    return mailing.status


async def deliveries(bot: BotHarness, run_id: int) -> list[tuple[str, str, int, str | None]]:
    """(address value, status, attempts, last error) of every delivery of the run."""
    async with bot.app.db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT a.value, d.status, d.attempts, d.last_error FROM deliveries AS d"
                " JOIN addresses AS a ON a.id = d.address_id WHERE d.run_id = :r ORDER BY a.id"
            ),
            {"r": run_id},
        )
        return [(str(v), str(s), int(n), e) for v, s, n, e in rows]


@asynccontextmanager
async def hurry_retries(bot: BotHarness) -> AsyncIterator[None]:
    """Make every scheduled retry due now, continuously, while the block runs. Idle
    workers sleep until the retry they wrote (or their 5 s safety poll), so a retry made
    due is also signalled (``NOTIFY``), as the queue signals work it hands back."""

    async def loop() -> None:
        while True:
            async with bot.app.db.engine.begin() as conn:
                moved = await conn.execute(
                    text(
                        "UPDATE deliveries SET next_attempt_at = now() - interval '1 second'"
                        " WHERE status = 'pending' AND next_attempt_at > now()"
                    )
                )
                if moved.rowcount:
                    await conn.execute(text(NOTIFY))
            await asyncio.sleep(0.1)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def wait_for(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def once_each(api: FakeBotAPI, chats: Sequence[int]) -> dict[int, int]:
    """Chats that did not get exactly one message, with their count."""
    return {c: n for c in chats if (n := api.sent_count("sendMessage", c)) != 1}


# -- (a) Bot API 5xx, (b) a lost answer, (c) a 429 storm: one bot -----------------------


async def test_5xx_and_a_lost_answer_are_sent_again_and_a_429_storm_delivers_everyone_once(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    """One bot walks the three Telegram faults (each started a bot of its own): its
    settings are the storm's (TELEGRAM_RATE 100: the free lane sends at 30/s; 50
    attempts), which the other two do not depend on; each fault has its own chats."""
    async with running_bot(
        fake_api, migrated_pg_url, telegram_rate=100, delivery_max_attempts=50
    ) as bot:
        await bot_api_5xx_are_retried_until_everyone_has_it(bot)
        await a_lost_answer_is_sent_again_and_reported_as_possibly_twice(bot)
        await a_429_storm_delivers_everyone_once_within_the_limit(bot)


async def bot_api_5xx_are_retried_until_everyone_has_it(bot: BotHarness) -> None:
    fake_api, chats = bot.api, chats_of(72_001, 40)
    # Five failing sendMessage calls. They are bound to recipients' chats (fail_next with
    # chat_id) so that the bot's own messages to the manager (card, progress) never eat
    # them: three recipients fail once, one fails twice.
    flaky = {chats[3]: 1, chats[10]: 1, chats[20]: 1, chats[33]: 2}
    for chat, times in flaky.items():
        fake_api.fail_next("sendMessage", error_code=502, chat_id=chat, times=times)
    refused_before = fake_api.request_count("sendMessage") - fake_api.sent_count()
    mailing_id = await prepare(bot, telegram(chats), name="Flaky")
    async with hurry_retries(bot):  # the 30 s backoff base would make this test slow
        summary = await launch_and_wait(bot, mailing_id)
    run = await current_run(bot, mailing_id)
    rows = await deliveries(bot, run.id or 0)
    assert "delivered: 40" in summary and "failed: 0" in summary
    assert run.totals.delivered == 40 and run.status is RunStatus.completed
    assert once_each(fake_api, chats) == {}
    refused = fake_api.request_count("sendMessage") - fake_api.sent_count() - refused_before
    assert refused == 5
    attempts = {int(value): n for value, _, n, _ in rows}
    assert {c: attempts[c] for c in flaky} == {c: t + 1 for c, t in flaky.items()}
    assert all(attempts[c] == 1 for c in chats if c not in flaky)


async def a_lost_answer_is_sent_again_and_reported_as_possibly_twice(bot: BotHarness) -> None:
    """Telegram delivered the message but the answer was a 502: the engine sends it
    again (at least once), and the run's statistics and export say who may have it twice."""
    fake_api, chats = bot.api, chats_of(73_001, 3)
    fake_api.lose_answer_next("sendMessage", chat_id=chats[1])
    mailing_id = await prepare(bot, telegram(chats), name="Lost")
    async with hurry_retries(bot):
        summary = await launch_and_wait(bot, mailing_id)
    assert "delivered: 3" in summary
    assert [len(fake_api.messages(chat)) for chat in chats] == [1, 2, 1]
    finished = await bot.api.wait_for_message(M, contains="Summary")
    mark = bot.api.mark(M)
    bot.api.press(M, "📊 Statistics", message_id=finished.message_id)
    figures = await bot.api.wait_for_message(M, since=mark, contains="Delivered:", timeout=20)
    assert "Possibly sent twice: 1" in figures.text
    mark = bot.api.mark(M)
    bot.api.press(M, "CSV", message_id=figures.message_id)
    document = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: m.kind == "document", timeout=20
    )
    assert document.file is not None
    rows = csv.DictReader(io.StringIO(document.file.content.decode("utf-8-sig")))
    twice = {row["address"]: row["possibly_sent_twice"] for row in rows}
    assert twice == {str(chats[0]): "", str(chats[1]): "yes", str(chats[2]): ""}


async def a_429_storm_delivers_everyone_once_within_the_limit(bot: BotHarness) -> None:
    """40 chats (it was 80, 4 s at the fake's 20/s): the free lane sends at 30/s, so the
    storm begins in the first second and lasts two."""
    fake_api, chats = bot.api, chats_of(71_001, 40)
    mailing_id = await prepare(bot, telegram(chats))
    await bot.say(M, "/help", language_code="en")
    first_send = len(fake_api.send_times)
    refused_before = fake_api.request_count("sendMessage") - fake_api.sent_count()
    fake_api.set_rate_limit(20, retry_after=1)  # we send at 30/s, Telegram allows 20/s
    async with hurry_retries(bot):
        summary = await launch_and_wait(bot, mailing_id, within=40)
    fake_api.set_rate_limit(None)
    run = await current_run(bot, mailing_id)
    assert "delivered: 40" in summary and "40 of 40" in summary
    assert run.status is RunStatus.completed and run.totals.delivered == 40
    assert once_each(fake_api, chats) == {}
    rejected = fake_api.request_count("sendMessage") - fake_api.sent_count() - refused_before
    print(f"\n429 storm: {rejected} sendMessage calls answered 429")
    assert rejected > 0  # the storm did happen
    assert rejected < 5 * len(chats)  # every 429 was waited out, not hammered
    times = sorted(fake_api.send_times[first_send:])
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 21, busiest


# -- (d) the SMTP relay goes down mid-run ------------------------------------------------


async def test_an_smtp_outage_mid_run_ends_with_every_fate_recorded(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    emails = [f"reader{i:02d}@example.test" for i in range(50)]
    async with FakeSmtp() as smtp:
        smtp.delay = 0.02
        async with running_bot(
            fake_api,
            migrated_pg_url,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="News <news@example.test>",
            delivery_max_attempts=20,
            delivery_batch_size=10,
            channel_outage_probe_seconds=0.5,  # 5 s in production: the relay is back in 1 s
        ) as bot:
            addresses = [Address(AddressKind.email, e) for e in emails]
            mailing_id = await prepare(bot, addresses, channel=Channel.email, subject="Hi")
            async with hurry_retries(bot):
                mark = fake_api.mark(M)
                await press(bot, "launch", mailing_id)
                await wait_for(lambda: len(smtp.messages) >= 10, 20, "10 mails")
                await smtp.go_down()
                down_at = len(smtp.messages)
                await asyncio.sleep(1.0)
                assert len(smtp.messages) == down_at  # nothing gets through a dead relay
                await smtp.come_back()
                done = await fake_api.wait_for_message(
                    M, since=mark, contains="Summary", timeout=40
                )
            run = await current_run(bot, mailing_id)
            rows = await deliveries(bot, run.id or 0)
    tot = run.totals
    assert run.status is RunStatus.completed and "50 of 50" in (done.text or "")
    assert (tot.pending, tot.sending) == (0, 0)
    assert tot.delivered + tot.failed + tot.refused == 50
    assert len(rows) == 50
    for value, status, _, error in rows:
        assert status in ("delivered", "failed", "refused"), (value, status)
        if status == "delivered":
            assert smtp.received_by(value), value
        else:
            assert error, (value, status)  # a recorded reason
    # The outage cost nobody their message, but a mail whose connection was cut during
    # DATA may sit in the relay's queue: it is failed as "uncertain", never resent
    # (test_channel_halts.py shows the same) — at most the batch in flight.
    lost = {value: error for value, status, _, error in rows if status != "delivered"}
    assert all((error or "").startswith("uncertain") for error in lost.values()), lost
    assert len(lost) <= 10 and tot.delivered == 50 - len(lost)
    assert {attempts for _, _, attempts, _ in rows} == {1}  # nor an attempt
    print(f"\nSMTP outage: delivered={tot.delivered} failed={tot.failed} refused={tot.refused}")


# -- (e) pause and resume, (f) cancel: one bot -------------------------------------------


async def test_pause_stops_sending_and_resume_completes_exactly_and_cancel_stops_for_good(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    """One bot (each started its own, with the same settings), a mailing and 300 chats
    of its own for each."""
    async with running_bot(
        fake_api, migrated_pg_url, telegram_rate=1000, delivery_batch_size=20
    ) as bot:
        fake_api.set_stars(100)  # a fast mailing: paid broadcasts at 1000/s
        await pause_stops_sending_and_resume_completes_exactly(bot)
        await cancel_mid_run_stops_after_the_batch_in_flight(bot)


async def pause_stops_sending_and_resume_completes_exactly(bot: BotHarness) -> None:
    fake_api, chats = bot.api, chats_of(75_001, 300)
    mailing_id = await prepare(bot, telegram(chats), fast=True, name="Paused")
    fake_api.delay = 0.05
    mark = fake_api.mark(M)
    await press(bot, "launch", mailing_id)
    await wait_for(lambda: sent_to(fake_api, chats) >= 60, 20, "60 sends")
    assert (await press(bot, "pause", mailing_id)).startswith("Paused")
    await asyncio.sleep(0.5)  # the batch in flight (20 × 50 ms, concurrently) ends
    held = sent_to(fake_api, chats)
    await asyncio.sleep(1.0)
    assert sent_to(fake_api, chats) == held < 300
    paused = await current_run(bot, mailing_id)
    assert paused.status is RunStatus.paused
    assert await mailing_status(bot, mailing_id) is MailingStatus.paused
    assert paused.totals.delivered == held and paused.totals.sending == 0
    assert await press(bot, "resume", mailing_id) == "Sending goes on."
    done = await fake_api.wait_for_message(M, since=mark, contains="Summary", timeout=30)
    summary = done.text or ""
    run = await current_run(bot, mailing_id)
    print(f"\npaused after {held} of 300 sends")
    assert "delivered: 300" in summary and "300 of 300" in summary
    assert run.status is RunStatus.completed and run.totals.delivered == 300
    assert once_each(fake_api, chats) == {}


async def cancel_mid_run_stops_after_the_batch_in_flight(bot: BotHarness) -> None:
    fake_api, chats = bot.api, chats_of(74_001, 300)
    mailing_id = await prepare(bot, telegram(chats), fast=True, name="Cancelled")
    fake_api.delay = 0.05
    await press(bot, "launch", mailing_id)
    await wait_for(lambda: sent_to(fake_api, chats) >= 60, 20, "60 sends")
    assert "is cancelled" in await press(bot, "cancel", mailing_id)
    await asyncio.sleep(0.5)  # the batch in flight ends and is recorded
    held = sent_to(fake_api, chats)
    await asyncio.sleep(1.0)
    assert sent_to(fake_api, chats) == held < 300
    run = await current_run(bot, mailing_id)
    status = await mailing_status(bot, mailing_id)
    rows = await deliveries(bot, run.id or 0)
    print(f"\ncancelled after {held} of 300 sends")
    tot = run.totals
    assert run.status is RunStatus.cancelled and status is MailingStatus.cancelled
    assert (tot.delivered, tot.sending, tot.failed, tot.refused) == (held, 0, 0, 0)
    assert tot.pending == 300 - held
    delivered = {int(v) for v, s, _, _ in rows if s == "delivered"}
    assert delivered == {c for c in chats if fake_api.sent_count("sendMessage", c) == 1}
    assert all(fake_api.sent_count("sendMessage", c) <= 1 for c in chats)


def sent_to(api: FakeBotAPI, chats: Sequence[int]) -> int:
    return sum(api.sent_count("sendMessage", c) for c in chats)
