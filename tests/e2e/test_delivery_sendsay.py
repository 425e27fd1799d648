"""A Sendsay mailing launched through the bot, below the mass-send threshold: one personal
issue.send per recipient with the rendered subject and body; an address Sendsay refuses is
refused and suppressed; an unconfirmed sender is named in the run's summary."""

from __future__ import annotations

from typing import Any

from domain.mailings import MailingStatus
from domain.recipients import AddressKind
from domain.runs import RunStatus
from tests.e2e.conftest import BotHarness, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import FakeSendsay
from tests.integration.test_sendsay_mass_send import prepare

M = 2002
EMAILS = ["ann@example.ru", "bob@example.ru", "eve@example.ru", "bad@example.ru"]


def settings_for(sendsay: FakeSendsay) -> dict[str, Any]:
    return {
        "sendsay_account": "acme",
        "sendsay_api_key": "s3cret",
        "sendsay_api_url": sendsay.base_url,
        "smtp_from": "Acme News <news@acme.example>",
    }


async def digest(bot: BotHarness) -> int:
    """A manager's Sendsay mailing to the four ``EMAILS``, each with a name."""
    body, subject = "<b>Hello</b> {{ name }}", "News for {{ name }}"
    return await prepare(bot.app.db.uow_factory, EMAILS, body, owner=M, subject=subject)


async def launch(bot: BotHarness, mailing_id: int) -> str:
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:open:{mailing_id}:0:", menu.message_id)
    await bot.api.wait_for_message(M, since=mark, contains="Digest")
    bot.api.press(M, "🚀 Launch")
    summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)
    return summary.text or ""


async def test_a_sendsay_mailing_sends_one_personal_issue_per_recipient(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.confirm_sender("news@acme.example")
        sendsay.refusals["bad@example.ru"] = "error/email/invalid"  # the id is unknown
        async with running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot:
            mailing_id = await digest(bot)
            text = await launch(bot, mailing_id)
            async with bot.app.db.uow_factory() as uow:
                stored = await uow.mailings.get(mailing_id)
                run = await uow.runs.last_for_mailing(mailing_id)
                bad = await uow.addresses.find(AddressKind.email, "bad@example.ru")

    assert "delivered: 3" in text and "refused: 1" in text and "failed: 0" in text
    assert "4 of 4" in text
    sends = [r.body for r in sendsay.requests if r.action == "issue.send"]
    assert sorted(s["email"] for s in sends) == sorted(EMAILS)  # one each
    issued = {issue["email"]: issue for issue in sendsay.issues}
    assert sorted(issued) == sorted(EMAILS[:3])
    for email, issue in issued.items():
        name = email.split("@")[0].title()
        assert (issue["group"], issue["sendwhen"], issue["relink"]) == ("personal", "now", 1)
        letter = issue["letter"]
        assert letter["subject"] == f"News for {name}"
        assert letter["from.email"] == "news@acme.example"
        assert f"<b>Hello</b> {name}" in letter["message"]["html"]
        assert letter["message"]["text"] == f"Hello {name}"
    assert stored is not None and stored.status is MailingStatus.completed
    assert run is not None and run.status is RunStatus.completed
    totals = run.totals
    assert (totals.delivered, totals.refused, totals.failed) == (3, 1, 0)
    assert bad is not None and bad.refused_at is not None


async def test_an_unconfirmed_sender_is_named_in_the_summary_in_the_managers_language(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with (
        FakeSendsay(account="acme", api_key="s3cret") as sendsay,  # news@… not confirmed
        running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot,
    ):
        text = await launch(bot, await digest(bot))

    assert "failed: 4" in text
    assert "the sender is not confirmed in Sendsay" in text
    assert "error/sender/unknown" in text
    assert sendsay.issues == []
