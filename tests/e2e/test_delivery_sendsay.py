"""A Sendsay mailing launched through the bot: one personal issue.send per recipient with
the rendered subject and body; an address Sendsay rejects is refused and suppressed."""

from __future__ import annotations

from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind, RecipientList
from domain.runs import RunStatus
from tests.e2e.conftest import grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import FakeSendsay

M = 2002
EMAILS = ["ann@example.ru", "bob@example.ru", "eve@example.ru", "bad@example.ru"]


async def test_a_sendsay_mailing_sends_one_personal_issue_per_recipient(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.reject_email("bad@example.ru", "error/email/invalid")  # assumed id
        async with running_bot(
            fake_api,
            migrated_pg_url,
            sendsay_account="acme",
            sendsay_api_key="s3cret",
            sendsay_api_url=sendsay.base_url,
            smtp_from="Acme News <news@acme.example>",
        ) as bot:
            await grant(bot, M)
            async with bot.app.db.uow_factory() as uow:
                rlist = await uow.lists.add(RecipientList("Subscribers", M))
                ids = []
                for email in EMAILS:
                    name = email.split("@")[0].title()
                    address = await uow.addresses.upsert(
                        Address(AddressKind.email, email, {"name": name})
                    )
                    ids.append(address.id)
                assert rlist.id is not None
                await uow.lists.add_members(rlist.id, [i for i in ids if i is not None])
                mailing = await uow.mailings.add(
                    Mailing(
                        owner_id=M,
                        name="Digest",
                        channel=Channel.sendsay,
                        subject="News for {{ name }}",
                        body="<b>Hello</b> {{ name }}",
                        list_ids=[rlist.id],
                    )
                )
                await uow.commit()
            assert mailing.id is not None
            menu = await bot.say(M, "/help", language_code="en")
            mark = bot.api.mark(M)
            bot.api.press_data(M, f"m:open:{mailing.id}:0:", menu.message_id)
            await bot.api.wait_for_message(M, since=mark, contains="Digest")
            bot.api.press(M, "🚀 Launch")
            summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)

            text = summary.text or ""
            assert "delivered: 3" in text and "refused: 1" in text and "failed: 0" in text
            assert "4 of 4" in text
            sends = [r.body for r in sendsay.requests if r.action == "issue.send"]
            assert sorted(s["email"] for s in sends) == sorted(EMAILS)  # one each
            issued = {issue["email"]: issue for issue in sendsay.issues}
            assert sorted(issued) == sorted(EMAILS[:3])
            for email, issue in issued.items():
                name = email.split("@")[0].title()
                assert (issue["group"], issue["sendwhen"]) == ("personal", "now")
                letter = issue["letter"]
                assert letter["subject"] == f"News for {name}"
                assert letter["from.email"] == "news@acme.example"
                assert f"<b>Hello</b> {name}" in letter["message"]["html"]
                assert letter["message"]["text"] == f"Hello {name}"
            async with bot.app.db.uow_factory() as uow:
                stored = await uow.mailings.get(mailing.id)
                run = await uow.runs.last_for_mailing(mailing.id)
                bad = await uow.addresses.find(AddressKind.email, "bad@example.ru")
            assert stored is not None and stored.status is MailingStatus.completed
            assert run is not None and run.status is RunStatus.completed
            totals = run.totals
            assert (totals.delivered, totals.refused, totals.failed) == (3, 1, 0)
            assert bad is not None and bad.refused_at is not None
