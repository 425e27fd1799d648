"""Recipients subscribe with /start, leave with /stop or by blocking the bot, and email
recipients leave through a signed one-click unsubscribe link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from bot.web import unsubscribe_url
from domain.recipients import Address, AddressKind
from tests.e2e.conftest import BotHarness

READER = 4242


async def telegram_address(bot: BotHarness, chat_id: int) -> Address | None:
    async with bot.app.db.uow_factory() as uow:
        return await uow.addresses.find(AddressKind.telegram, str(chat_id))


async def test_recipients_subscribe_leave_block_and_unsubscribe_by_a_signed_link(
    bot: BotHarness,
) -> None:
    reply = await bot.say(
        READER, "/start", first_name="Вера", username="vera_k", language_code="ru"
    )
    assert "Вы подписаны" in reply.text and "/stop" in reply.text
    address = await telegram_address(bot, READER)
    assert address is not None and address.subscribed_at is not None
    assert not address.is_suppressed
    assert address.attributes == {"name": "Вера", "username": "vera_k", "language": "ru"}

    # stop unsubscribes and start subscribes again
    await bot.say(READER, "/start", language_code="en")
    reply = await bot.say(READER, "/stop", language_code="en")
    assert reply.text.startswith("You are unsubscribed")
    address = await telegram_address(bot, READER)
    assert address is not None and address.unsubscribed_at is not None
    again = await bot.say(READER, "/stop", language_code="en")
    assert again.text.startswith("You are not subscribed")
    await bot.say(READER, "/start", language_code="en")
    address = await telegram_address(bot, READER)
    assert address is not None and not address.is_suppressed

    # blocking the bot suppresses and unblocking does not resubscribe
    await bot.say(READER, "/start")
    bot.api.chat_member_update(READER, new_status="kicked", old_status="member")
    address = await eventually(bot, lambda a: a.refused_at is not None)
    assert address.refused_at is not None
    bot.api.chat_member_update(READER, new_status="member", old_status="kicked")
    # the next /start is the explicit wish that lifts the suppression
    reply = await bot.say(READER, "/start", language_code="en")
    assert "subscribed" in reply.text
    address = await telegram_address(bot, READER)
    assert address is not None and address.refused_at is None

    # unsubscribe link confirms on get and unsubscribes on one click post
    async with bot.app.db.uow_factory() as uow:
        address = await uow.addresses.upsert(Address(AddressKind.email, "ann@example.com"))
        await uow.commit()
    assert address.id is not None
    base = f"http://127.0.0.1:{bot.app.web.port}"
    url = unsubscribe_url(base, bot.app.settings.unsubscribe_key(), address.id)
    async with aiohttp.ClientSession(headers={"Accept-Language": "en-US,en"}) as http:
        async with http.get(url) as page:
            assert page.status == 200
            body = await page.text()
        assert 'method="post"' in body and "ann@example.com" in body
        assert not (await stored(bot, address.id)).is_suppressed  # a GET changes nothing
        async with http.post(
            url,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as done:
            assert done.status == 200
            assert "is unsubscribed" in await done.text()
        assert (await stored(bot, address.id)).unsubscribed_at is not None

    # forged unsubscribe tokens get 400 and change nothing
    async with bot.app.db.uow_factory() as uow:
        victim = await uow.addresses.upsert(Address(AddressKind.email, "bob@example.com"))
        mine = await uow.addresses.upsert(Address(AddressKind.email, "eve@example.com"))
        await uow.commit()
    assert victim.id is not None and mine.id is not None
    base = f"http://127.0.0.1:{bot.app.web.port}"
    key = bot.app.settings.unsubscribe_key()
    genuine = unsubscribe_url(base, key, mine.id)
    victim_payload = unsubscribe_url(base, key, victim.id).rsplit("/", 1)[1].split(".")[0]
    signature = genuine.rsplit(".", 1)[1]
    forged = [
        f"{base}/unsubscribe/{victim_payload}.{signature}",  # someone else's id, my signature
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),  # altered signature
        unsubscribe_url(base, b"another-secret", victim.id),  # signed with the wrong key
        f"{base}/unsubscribe/garbage",
    ]
    async with aiohttp.ClientSession() as http:
        for url in forged:
            async with http.post(url, data="List-Unsubscribe=One-Click") as response:
                assert response.status == 400, url
    assert not (await stored(bot, victim.id)).is_suppressed
    assert not (await stored(bot, mine.id)).is_suppressed


async def eventually(
    bot: BotHarness, condition: Callable[[Address], bool], within: float = 5.0
) -> Address:
    """Updates without a reply are handled in the background: poll the database."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        address = await telegram_address(bot, READER)
        if address is not None and condition(address):
            return address
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition never held; address is {address}")
        await asyncio.sleep(0.02)


async def stored(bot: BotHarness, address_id: int) -> Address:
    async with bot.app.db.uow_factory() as uow:
        address = await uow.addresses.get(address_id)
    assert address is not None
    return address
