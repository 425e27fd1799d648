"""/sendsay through the bot: an admin's read-only look at the Sendsay account in one
message; managers and strangers are refused like for any admin command."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ADMIN, BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.sendsay import FakeSendsay

MANAGER, STRANGER = 2002, 3003


def settings_for(sendsay: FakeSendsay, key: str = "s3cret") -> dict[str, Any]:
    return {
        "sendsay_account": "acme",
        "sendsay_api_key": key,
        "sendsay_api_url": sendsay.base_url,
        "sendsay_from": "News <news@acme.example>",
    }


async def check(bot: BotHarness, user_id: int = ADMIN, language: str = "en") -> str:
    reply = await bot.say(user_id, "/sendsay", language_code=language)
    return reply.text or ""


async def test_an_admin_checks_the_account_as_its_key_works_expires_and_sendsay_goes_down(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.add_group("vip", "VIP")
        sendsay.add_group("all", "Everyone")
        async with running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot:
            await grant(bot, MANAGER)
            manager = await check(bot, MANAGER)
            stranger = await check(bot, STRANGER)
            assert sendsay.requests == []  # refused before anything is asked
            english = await check(bot)
            russian = await check(bot, language="ru")
            sendsay.expired = True
            expired = await check(bot)
            sendsay.expired = False
            sendsay.fail_next("group.list", status=200, body="<html>Maintenance</html>")
            down = await check(bot)

    assert "administrators only" in manager
    assert str(STRANGER) in stranger and "no access" in stranger
    assert "account acme" in english and "/general/api/v100/json/acme" in english
    assert "✅ The API key works." in english
    assert "Lists in the account: 2" in english
    assert "news@acme.example" in english and "no read-only check" in english
    assert "Assumed until a live account confirms it" in english
    assert "where a mass send's issue id shows up" in english
    assert "API-ключ работает" in russian and "Списков в аккаунте: 2" in russian
    assert set(sendsay.actions()) == {"group.list"}  # read-only
    # a wrong key's sentence: tests/unit/test_sendsay_check_text.py
    assert "❌ The API key does not work" in expired and "API key has expired" in expired
    assert "Lists in the account" not in expired
    assert "s3cret" not in expired  # the key itself is never shown
    assert "Sendsay did not answer" in down and "does not work" not in down


async def test_without_sendsay_settings_the_admin_is_told_what_to_set(bot: BotHarness) -> None:
    text = await check(bot)
    assert "Sendsay is not configured" in text and "SENDSAY_API_KEY" in text
