"""Email subjects are plain text on one line (issue 17, point 21)."""

from __future__ import annotations

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from tests.e2e.conftest import grant, running_bot
from tests.e2e.test_delivery import M, open_card_of
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.smtp import FakeSmtp

COMPANY = "O'Brien & Sons\r\nBcc: evil@example.com"


async def test_a_subject_is_sent_unescaped_on_one_line_and_the_preview_warns(
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
            smtp_from="News <news@example.com>",
        ) as bot,
    ):
        await grant(bot, M)
        async with bot.app.db.uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Mails", M))
            reader = await uow.addresses.upsert(
                Address(AddressKind.email, "reader@example.com", {"company": COMPANY})
            )
            assert rlist.id is not None and reader.id is not None
            await uow.members.add_members(rlist.id, [reader.id])
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=M,
                    name="Letter",
                    channel=Channel.email,
                    subject="Offer for {{ company }}",
                    body="<b>Hello</b> {{ company }}",
                    list_ids=[rlist.id],
                )
            )
            await uow.commit()
        await open_card_of(bot, mailing.id or 0, "Letter")
        shown = await bot.press(M, "👁 Preview")
        assert shown.text.startswith("Offer for O'Brien & Sons Bcc: evil@example.com\n\n")
        report = await bot.api.wait_for_message(M, contains="Preview: Letter")
        assert "the subject holds a line break" in report.text
        await bot.press(M, "🧪 Test to me", message_id=report.message_id)
        await bot.say(M, "me@example.com", language_code="en")
        await bot.api.wait_for_message(M, contains="Summary", timeout=15)
        sent = smtp.messages[0].message
        assert sent["Subject"] == "Offer for O'Brien & Sons Bcc: evil@example.com"
        assert sent["Bcc"] is None
        # The body is Telegram HTML: there the value stays escaped.
        assert "Brien &amp; Sons" in sent.get_body(("html",)).get_content()
