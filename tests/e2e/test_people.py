"""Who is who in the chat: staff are not subscribers, subscribers are not strangers, an
admin confirms overriding someone's own unsubscribe, and an admin sees whose mailing is
whose."""

from __future__ import annotations

from domain.mailings import Channel, Mailing
from domain.recipients import AddressKind, RecipientList
from tests.e2e.conftest import ADMIN, BotHarness, grant

MANAGER, READER = 2002, 7001


async def test_who_is_who_subscribers_staff_and_authors(bot: BotHarness) -> None:
    stranger = await bot.say(READER, "hello?", language_code="en")
    assert "press /start" in stranger.text
    await bot.say(READER, "/start", language_code="en")
    reply = await bot.say(READER, "hello?", language_code="en")
    assert "You are subscribed to our mailings" in reply.text and "/stop" in reply.text
    assert "/start" not in reply.text and str(READER) in reply.text
    russian = await bot.say(READER, "привет", language_code="ru")
    assert "Вы подписаны" in russian.text and "/start" not in russian.text

    # staff who pressed start before their role are not bot subscribers
    await bot.say(MANAGER, "/start", language_code="en")  # to learn their id, as told
    await bot.say(READER, "/start", language_code="en")
    await grant(bot, MANAGER)
    again = await bot.say(MANAGER, "/start", language_code="en")
    assert "You are a MailForge <b>manager</b>" in again.raw_text
    assert "not subscribed to mailings" in again.text
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", ADMIN))
        assert rlist.id is not None
        await uow.commit()
    index = await bot.say(ADMIN, "/lists", language_code="en")
    await bot.press(ADMIN, "📋 Readers", message_id=index.message_id)
    done = await bot.press(ADMIN, "🤖 Bot subscribers")
    assert done.text == "Bot subscribers added: 1."
    async with bot.app.db.uow_factory() as uow:
        members = await uow.members.members(rlist.id, 0, 10, None)
    assert [a.value for a in members.items] == [str(READER)]

    # unsuppressing an address that unsubscribed itself asks first
    await bot.say(READER, "/start")
    await bot.say(READER, "/stop")
    ask = await bot.say(ADMIN, f"/unsuppress {READER}", language_code="en")
    assert "unsubscribed by itself" in ask.text and ask.buttons == ["Yes, lift it", "No, keep it"]
    assert await suppressed(bot)
    kept = await bot.press(ADMIN, "No, keep it", message_id=ask.message_id)
    assert kept.text.startswith("Kept")
    assert await suppressed(bot)
    ask = await bot.say(ADMIN, f"/unsuppress {READER}", language_code="en")
    lifted = await bot.press(ADMIN, "Yes, lift it", message_id=ask.message_id)
    assert "Suppression lifted" in lifted.text
    assert not await suppressed(bot)

    # an admin sees the author of every mailing
    await bot.say(MANAGER, "/start", language_code="en", username="mona")
    await grant(bot, MANAGER)
    async with bot.app.db.uow_factory() as uow:
        await uow.mailings.add(
            Mailing(owner_id=MANAGER, name="Mona's news", channel=Channel.telegram)
        )
        await uow.commit()
    index = await bot.say(ADMIN, "/mailings", language_code="en")
    assert "📝 Mona's news · @mona" in index.buttons
    card = await bot.press(ADMIN, "📝 Mona's news · @mona", message_id=index.message_id)
    assert "Author: @mona" in card.text
    own = await bot.say(MANAGER, "/mailings", language_code="en")
    assert "📝 Mona's news" in own.buttons  # a manager's list holds their own only
    card = await bot.press(MANAGER, "📝 Mona's news", message_id=own.message_id)
    assert "Author:" not in card.text


async def suppressed(bot: BotHarness) -> bool:
    async with bot.app.db.uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.telegram, str(READER))
    assert address is not None
    return address.is_suppressed
