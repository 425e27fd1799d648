"""Big Sendsay runs through the bot: one mass send, statuses read back from statistics.

The threshold is lowered to 3 recipients and the polls to a few tens of milliseconds;
everything else (the bot, the engine, PostgreSQL, the HTTP to the fake Sendsay) is real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.recipients import AddressKind
from domain.runs import RunStatus
from infrastructure.db.engine import create_engine
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_delivery_faults import M, current_run, deliveries, launch_and_wait
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import FakeSendsay
from tests.integration.test_sendsay_bulk import polling_the_send
from tests.integration.test_sendsay_bulk import prepare as prepare_mailing

NAMES = ["ann", "bob", "eve", "late", "bounced", "soft"]
EMAILS = [f"{name}@example.ru" for name in NAMES]


def sendsay_settings(sendsay: FakeSendsay, **more: Any) -> dict[str, Any]:
    return {
        "sendsay_account": "acme",
        "sendsay_api_key": "s3cret",
        "sendsay_api_url": sendsay.base_url,
        "smtp_from": "Acme News <news@acme.example>",
        "sendsay_bulk_threshold": 3,
        "sendsay_poll_seconds": 0.05,
        **more,
    }


async def prepare(bot: BotHarness, emails: Sequence[str]) -> int:
    body, subject = "<b>Hello</b> {{ name }}", "News for {{ name }}"
    return await prepare_mailing(bot.app.db.uow_factory, emails, body, owner=M, subject=subject)


async def bulk_state(bot: BotHarness, run_id: int) -> dict[str, Any]:
    return await _state_in(bot.app.db.engine, run_id)


async def _state_in(engine: AsyncEngine, run_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        state = await conn.scalar(
            text("SELECT bulk_state FROM mailing_runs WHERE id = :r"), {"r": run_id}
        )
    return dict(state or {})


async def _state(url: str, run_id: int) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        return await _state_in(engine, run_id)
    finally:
        await engine.dispose()


async def _wait_until(predicate: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _wait_until_completed(bot: BotHarness, run_id: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        async with bot.app.db.uow_factory() as uow:
            run = await uow.runs.get(run_id)
        if run is not None and run.status is RunStatus.completed:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_big_sendsay_run_goes_out_as_one_mass_send_and_reads_back_each_status(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.deliv_result("bounced@example.ru", "-1", "550 5.1.1 no such user")
        sendsay.deliv_result("soft@example.ru", "-1", "452 mailbox full")
        sendsay.report_late("late@example.ru", 3)  # final only on the fourth read
        sendsay.redirect_once_to(f"/general/api/v100/json/{sendsay.account}")
        sendsay.fail_next("stat.uni", status=503, retry_after=0.05)  # transient: retried
        async with running_bot(fake_api, migrated_pg_url, **sendsay_settings(sendsay)) as bot:
            mailing_id = await prepare(bot, EMAILS)
            summary = await launch_and_wait(bot, mailing_id)
            run = await current_run(bot, mailing_id)
            assert run.id is not None
            rows = {
                email: (status, error) for email, status, _, error in await deliveries(bot, run.id)
            }
            state = await bulk_state(bot, run.id)
            async with bot.app.db.uow_factory() as uow:
                bounced = await uow.addresses.find(AddressKind.email, "bounced@example.ru")
                soft = await uow.addresses.find(AddressKind.email, "soft@example.ru")

    assert "delivered: 4" in summary and "refused: 1" in summary and "failed: 1" in summary
    assert run.status is RunStatus.completed
    assert (run.totals.delivered, run.totals.refused, run.totals.failed) == (4, 1, 1)
    assert (run.totals.pending, run.totals.sending) == (0, 0)
    # One mass send to the run's group; no personal send at all.
    sends = [r.body for r in sendsay.requests if r.action == "issue.send"]
    assert len(sends) == 1 and sends[0]["group"] == f"mailforge-run-{run.id}"
    assert sendsay.issues == []
    (issue,) = sendsay.mass_issues
    assert sorted(issue.letters) == sorted(EMAILS)
    for email, letter in issue.letters.items():
        name = email.split("@")[0].title()
        assert letter["subject"] == f"News for {name}"
        assert f"<b>Hello</b> {name}" in letter["html"]
    assert issue.letter["from.email"] == "news@acme.example"
    # The anketa and a quest per placeholder were made, then the members pushed in the
    # documented caption form, then the send went; then the group was removed.
    actions = sendsay.actions()
    assert actions.index("anketa.create") < actions.index("anketa.quest.add")
    assert actions.index("anketa.quest.add") < actions.index("member.import")
    assert actions.index("member.import") < actions.index("issue.send")
    assert list(sendsay.anketas["mailforge"]) == ["name"]
    (push,) = [r.body for r in sendsay.requests if r.action == "member.import"]
    assert push["users.list"]["caption"] == [
        {"datakey": "member.email", "mode": "set"},
        {"datakey": "anketa.mailforge.name", "mode": "set"},
    ]
    assert "group.delete" in actions and f"mailforge-run-{run.id}" not in sendsay.groups
    # Per-recipient results (deliv.result), with Sendsay's reasons.
    assert {e: s for e, (s, _) in rows.items()} == {
        **dict.fromkeys(["ann@example.ru", "bob@example.ru", "eve@example.ru"], "delivered"),
        "late@example.ru": "delivered",
        "bounced@example.ru": "refused",
        "soft@example.ru": "failed",
    }
    assert rows["bounced@example.ru"][1] == "sendsay: not delivered: 550 5.1.1 no such user"
    assert "452 mailbox full" in (rows["soft@example.ru"][1] or "")
    # The receiving server's 550 is a hard bounce: suppressed; "452 mailbox full" is not.
    assert bounced is not None and bounced.refused_at is not None
    assert soft is not None and soft.refused_at is None
    assert state["phase"] == "done" and state["ref"]["issue"] == issue.id
    assert actions.count("stat.uni") >= 4  # the 503, then reads until "late" was final


async def test_a_restarted_bot_resumes_polling_without_a_second_mass_send(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.mass_track = [1]  # Sendsay keeps "sending" until the test says otherwise
        settings = sendsay_settings(sendsay)
        async with running_bot(fake_api, migrated_pg_url, **settings) as bot:
            mailing_id = await prepare(bot, EMAILS[:4])
            await grant(bot, M)
            menu = await bot.say(M, "/help", language_code="en")
            bot.api.press_data(M, f"m:launch:{mailing_id}:0:", menu.message_id)
            await _wait_until(lambda: polling_the_send(sendsay))
            run = await current_run(bot, mailing_id)
            assert run.id is not None
        # The bot is gone mid-poll; the run waits in phase "sent".
        assert (await _state(migrated_pg_url, run.id))["phase"] == "sent"
        for statuses in sendsay.tracks.values():
            statuses[0] = -1  # Sendsay finishes while nobody is looking
        async with running_bot(fake_api, migrated_pg_url, **settings) as bot:
            await _wait_until_completed(bot, run.id)
            rows = await deliveries(bot, run.id)

    assert [r.action for r in sendsay.requests].count("issue.send") == 1
    assert {status for _, status, _, _ in rows} == {"delivered"}
    assert len(rows) == 4


async def test_a_small_sendsay_run_still_uses_the_personal_send(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with (
        FakeSendsay(account="acme", api_key="s3cret") as sendsay,
        running_bot(fake_api, migrated_pg_url, **sendsay_settings(sendsay)) as bot,
    ):
        mailing_id = await prepare(bot, EMAILS[:2])  # below the threshold of 3
        summary = await launch_and_wait(bot, mailing_id)

    assert "delivered: 2" in summary
    assert sorted(issue["email"] for issue in sendsay.issues) == EMAILS[:2]
    assert all(issue["group"] == "personal" for issue in sendsay.issues)
    assert sendsay.mass_issues == [] and "member.import" not in sendsay.actions()


async def test_a_wrong_sendsay_key_fails_the_big_run_with_a_reason_naming_the_settings(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="the-real-key") as sendsay:
        settings = sendsay_settings(sendsay)  # its key, "s3cret", is not the account's
        async with running_bot(fake_api, migrated_pg_url, **settings) as bot:
            mailing_id = await prepare(bot, EMAILS[:4])
            summary = await launch_and_wait(bot, mailing_id)
            run = await current_run(bot, mailing_id)
            assert run.id is not None
            rows = await deliveries(bot, run.id)

    assert "failed: 4" in summary and "delivered: 0" in summary
    assert "SENDSAY_API_KEY" in summary  # the manager is told what to fix
    assert {status for _, status, _, _ in rows} == {"failed"}
    for _, _, _, error in rows:
        assert error is not None and "error/auth/failed" in error
        assert "check SENDSAY_ACCOUNT and SENDSAY_API_KEY" in error
    assert "issue.send" not in sendsay.actions()  # nothing went out


async def test_transient_errors_of_a_mass_send_are_retried(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.fail_next("member.import", status=502, retry_after=0.05)
        sendsay.fail_next("issue.send", status=503, retry_after=0.05, times=2)
        sendsay.fail_next(
            "track.get", errors=[{"id": "error/too_many_requests"}], retry_after=0.05
        )
        async with running_bot(fake_api, migrated_pg_url, **sendsay_settings(sendsay)) as bot:
            mailing_id = await prepare(bot, EMAILS[:3])
            summary = await launch_and_wait(bot, mailing_id)

    assert "delivered: 3" in summary and "failed: 0" in summary
    assert sendsay.actions().count("issue.send") == 3  # two 503s, then accepted once
    assert len(sendsay.mass_issues) == 1
