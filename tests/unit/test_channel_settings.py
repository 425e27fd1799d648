"""Whether a channel is configured is answered in one place (``Settings.configured``): the
dialog offers, launches accept and the workers build exactly the configured channels."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot

from bot.delivery import build_channels
from bot.settings import load_settings
from domain.mailings import Channel
from tests.unit.test_settings import TOKEN, clean_env

__all__ = ["clean_env"]  # autouse: no channel settings or .env from the machine

SENDSAY = {"sendsay_account": "acme", "sendsay_api_key": "k", "sendsay_from": "n@acme.example"}
CASES: list[tuple[dict[str, Any], set[Channel]]] = [
    ({}, {Channel.telegram}),  # the bot's own token is enough for Telegram
    ({"smtp_host": "smtp.example"}, {Channel.telegram}),  # no sender: not email yet
    ({"smtp_from": "n@example.com"}, {Channel.telegram}),  # no relay
    (
        {"smtp_host": "smtp.example", "smtp_from": "n@example.com"},
        {Channel.telegram, Channel.email},
    ),
    ({"webhook_url": "https://hooks.example/send"}, {Channel.telegram, Channel.webhook}),
    (SENDSAY, {Channel.telegram, Channel.sendsay}),
    ({"sendsay_account": "acme", "smtp_from": "n@example.com"}, {Channel.telegram}),  # no key
    ({**SENDSAY, "smtp_host": "smtp.example"}, {Channel.telegram, Channel.sendsay}),  # no from
    (
        {
            **SENDSAY,
            "smtp_host": "smtp.example",
            "smtp_from": "n@example.com",
            "webhook_url": "https://hooks.example/send",
        },
        set(Channel),
    ),
]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_a_channel_is_configured_when_its_settings_are_present(
    values: dict[str, Any], expected: set[Channel]
) -> None:
    settings = load_settings(bot_token=TOKEN, **values)
    assert settings.channels == expected
    assert {channel for channel in Channel if settings.configured(channel)} == expected


@pytest.mark.parametrize(("values", "expected"), CASES)
async def test_the_workers_build_exactly_the_configured_channels(
    values: dict[str, Any], expected: set[Channel]
) -> None:
    settings = load_settings(bot_token=TOKEN, **values)
    bot = Bot(TOKEN)
    try:
        channels, mass = build_channels(settings, bot)
        try:
            assert set(channels) == settings.channels == expected
            assert set(mass) == expected & {Channel.sendsay}  # only Sendsay mass-sends
        finally:
            for channel in channels.values():
                await channel.close()
    finally:
        await bot.session.close()
