"""``{{ unsubscribe_url }}`` in an email's body: each recipient's own signed link, in the
HTML and the plain-text parts, and it unsubscribes that recipient (issue 17, point 2)."""

from __future__ import annotations

import aiohttp

from bot.web import unsubscribe_url
from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.unsubscribe import MARK
from tests.e2e.conftest import email_bot, grant
from tests.e2e.test_delivery import M, open_card_of
from tests.fakes.bot_api import FakeBotAPI

BODY = 'Hello {{ name }}. <a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ unsubscribe_url }}'


async def test_each_email_carries_its_recipients_own_unsubscribe_link(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with email_bot(fake_api, migrated_pg_url) as (bot, smtp):
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Mails", M))
            readers = [
                await uow.addresses.upsert(Address(AddressKind.email, f"{n}@example.com"))
                for n in ("ann", "bob")
            ]
            assert rlist.id is not None
            await uow.members.add_members(rlist.id, [r.id or 0 for r in readers])
            mailing = await uow.mailings.add(
                Mailing(M, "Letter", Channel.email, subject="News", body=BODY, list_ids=[rlist.id])
            )
            await uow.commit()
        await open_card_of(bot, mailing.id or 0, "Letter")
        shown = await bot.press(M, "👁 Preview")
        assert MARK in shown.raw_text  # the preview shows where each link will go
        report = await bot.api.wait_for_message(M, contains="Preview: Letter")
        assert "ready for launch" in report.text and "unsubscribe_url" not in report.text
        mark = bot.api.mark(M)
        bot.api.press(M, "🚀 Launch", message_id=report.message_id)
        await bot.api.wait_for_message(M, since=mark, contains="Summary", timeout=20)
        settings = bot.app.settings
        key = settings.unsubscribe_key()
        for reader in readers:
            link = unsubscribe_url(settings.web.public_base_url, key, reader.id or 0)
            (mail,) = smtp.received_by(reader.value)
            letter = mail.message
            html = letter.get_body(("html",)).get_content()  # type: ignore[union-attr]
            text = letter.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert f'<a href="{link}">Unsubscribe</a>' in html and MARK not in html
            assert link in text and MARK not in text
            assert letter["List-Unsubscribe"] == f"<{link}>"
        ann = readers[0]
        token = unsubscribe_url(settings.web.public_base_url, key, ann.id or 0).rsplit("/", 1)[1]
        local = f"http://127.0.0.1:{bot.app.web.port}/unsubscribe/{token}"
        async with (
            aiohttp.ClientSession() as http,
            http.post(local, data={"List-Unsubscribe": "One-Click"}) as done,
        ):
            assert done.status == 200
        async with bot.app.db.uow_factory() as uow:
            gone = await uow.addresses.get(ann.id or 0)
            kept = await uow.addresses.get(readers[1].id or 0)
        assert gone is not None and gone.unsubscribed_at is not None
        assert kept is not None and kept.unsubscribed_at is None
