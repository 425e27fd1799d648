"""A webhook mailing launched through the bot: one JSON POST per recipient with the
configured headers; 2xx delivered, 4xx about the recipient refused, 5xx retried."""

from __future__ import annotations

import json

from domain.mailings import Channel, Mailing, MailingStatus
from domain.recipients import Address, AddressKind, RecipientList
from tests.e2e.conftest import grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.webhook import FakeWebhook

M = 2002


async def test_a_webhook_mailing_posts_every_recipient_and_records_the_answers(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeWebhook() as hook:
        headers = json.dumps({"X-Api-Key": "s3cret-key"})
        async with running_bot(
            fake_api, migrated_pg_url, webhook_url=hook.url, webhook_headers=headers
        ) as bot:
            await grant(bot, M)
            async with bot.app.db.uow_factory() as uow:
                rlist = await uow.lists.add(RecipientList("Partners", M))
                ids = []
                for kind, value in (
                    (AddressKind.email, "a@example.com"),
                    (AddressKind.telegram, "8001"),
                    (AddressKind.webhook, "crm-42"),
                ):
                    address = await uow.addresses.upsert(Address(kind, value, {"name": value}))
                    ids.append(address.id)
                assert rlist.id is not None
                await uow.members.add_members(rlist.id, [i for i in ids if i is not None])
                mailing = await uow.mailings.add(
                    Mailing(
                        owner_id=M,
                        name="Hook",
                        channel=Channel.webhook,
                        body="<b>Hello</b> {{ name }}",
                        list_ids=[rlist.id],
                    )
                )
                await uow.commit()
            hook.respond(422, {"error": "unknown recipient"})  # the first one is refused
            menu = await bot.say(M, "/help", language_code="en")
            mark = bot.api.mark(M)
            bot.api.press_data(M, f"m:open:{mailing.id}:0:", menu.message_id)
            await bot.api.wait_for_message(M, since=mark, contains="Hook")
            bot.api.press(M, "🚀 Launch")
            summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)
            assert "delivered: 2" in summary.text and "refused: 1" in summary.text
            bodies = [r.body for r in hook.requests]
            assert len(bodies) == 3
            assert all(r.headers.get("X-Api-Key") == "s3cret-key" for r in hook.requests)
            values = sorted(b["recipient"]["value"] for b in bodies)
            assert values == ["8001", "a@example.com", "crm-42"]
            sample = next(b for b in bodies if b["recipient"]["value"] == "crm-42")
            assert sample["html"] == "<b>Hello</b> crm-42" and sample["text"] == "Hello crm-42"
            async with bot.app.db.uow_factory() as uow:
                stored = await uow.mailings.get(mailing.id or 0)
            assert stored is not None and stored.status is MailingStatus.completed
