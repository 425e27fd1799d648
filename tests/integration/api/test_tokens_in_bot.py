"""Tokens made in the chat (/token, /tokens) and from the console work on the API."""

from __future__ import annotations

import re

import pytest

from bot import console
from bot.settings import load_settings
from domain.errors import NotFound
from domain.users import Role
from tests.e2e.conftest import grant
from tests.integration.api.conftest import MANAGER, OTHER, ApiHarness, assert_problem

SECRET = re.compile(r"<code>(mf_[A-Za-z0-9_-]+)</code>")


async def test_a_token_made_in_the_chat_works_until_revoked_there(api: ApiHarness) -> None:
    bot = api.bot
    await grant(bot, MANAGER)
    made = await bot.say(MANAGER, "/token shop")
    found = SECRET.search(made.raw_text or "")
    assert found is not None and "shop" in made.text
    http = api.client(found.group(1))
    assert (await http.get("/me")).json() == {"telegram_id": MANAGER, "role": "manager"}

    listing = await bot.say(MANAGER, "/tokens")
    assert "shop" in listing.text and found.group(1) not in listing.text  # shown only once
    assert found.group(1)[:8] in listing.text  # its start tells tokens apart
    button = listing.buttons[0]
    await bot.press(MANAGER, button)
    assert_problem(await http.get("/me"), 401, "error-unauthenticated")


async def test_strangers_cannot_make_tokens(api: ApiHarness) -> None:
    reply = await api.bot.say(OTHER, "/token mine")
    assert SECRET.search(reply.raw_text or "") is None
    assert str(OTHER) in reply.text  # the polite refusal that shows their id


async def test_the_console_makes_a_token_for_someone_with_a_role(
    api: ApiHarness, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await grant(api.bot, OTHER, role=Role.admin)
    settings = load_settings(database_url=database_url)
    await console.create_token(settings, OTHER, "crm")
    secret = capsys.readouterr().out.splitlines()[0]
    assert (await api.client(secret).get("/me")).json() == {"telegram_id": OTHER, "role": "admin"}
    with pytest.raises(NotFound):
        await console.create_token(settings, 424242, None)  # nobody with that id has a role
