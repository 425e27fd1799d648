"""/sendsay through the bot: an admin's read-only look at the Sendsay account in one
message; managers and strangers are refused like for any admin command."""

from __future__ import annotations

from typing import Any

import pytest

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


async def test_a_working_key_shows_the_account_its_lists_and_what_is_assumed(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.add_group("vip", "VIP")
        sendsay.add_group("all", "Everyone")
        async with running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot:
            english = await check(bot)
            russian = await check(bot, language="ru")

    assert "account acme" in english and "/general/api/v100/json/acme" in english
    assert "✅ The API key works." in english
    assert "Lists in the account: 2" in english
    assert "news@acme.example" in english and "no read-only check" in english
    assert "Assumed until a live account confirms it" in english
    assert "where a mass send's issue id shows up" in english
    assert "API-ключ работает" in russian and "Списков в аккаунте: 2" in russian
    assert set(sendsay.actions()) == {"group.list"}  # read-only


@pytest.mark.parametrize(
    ("key", "expired", "told"),
    [
        ("wrong", False, "check SENDSAY_ACCOUNT and SENDSAY_API_KEY"),
        ("s3cret", True, "API key has expired"),
    ],
)
async def test_a_wrong_or_expired_key_is_reported_with_what_to_do(
    fake_api: FakeBotAPI, migrated_pg_url: str, key: str, expired: bool, told: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.expired = expired
        async with running_bot(fake_api, migrated_pg_url, **settings_for(sendsay, key)) as bot:
            text = await check(bot)

    assert "❌ The API key does not work" in text and told in text
    assert "Lists in the account" not in text
    assert "s3cret" not in text  # the key itself is never shown


async def test_an_unreachable_sendsay_is_not_called_a_bad_key(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with FakeSendsay(account="acme", api_key="s3cret") as sendsay:
        sendsay.fail_next("group.list", status=200, body="<html>Maintenance</html>")
        async with running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot:
            text = await check(bot)
    assert "Sendsay did not answer" in text and "does not work" not in text


async def test_managers_and_strangers_are_refused_and_nothing_is_asked(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with (
        FakeSendsay(account="acme", api_key="s3cret") as sendsay,
        running_bot(fake_api, migrated_pg_url, **settings_for(sendsay)) as bot,
    ):
        await grant(bot, MANAGER)
        manager = await check(bot, MANAGER)
        stranger = await check(bot, STRANGER)

    assert "administrators only" in manager
    assert str(STRANGER) in stranger and "no access" in stranger
    assert sendsay.requests == []


async def test_without_sendsay_settings_the_admin_is_told_what_to_set(bot: BotHarness) -> None:
    text = await check(bot)
    assert "Sendsay is not configured" in text and "SENDSAY_API_KEY" in text
