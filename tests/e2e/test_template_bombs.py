"""Template bombs at the content step (issue 17, point 15): refused with their own message
in the user's language, and rendered off the event loop, so other chats are answered
while a heavy template is still being filled."""

from __future__ import annotations

import pytest

from infrastructure.rendering import JinjaRenderer
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_mailings import OTHER, M, start_dialog, stored
from tests.fakes.bot_api import FakeBotAPI

LOOPS_3_DEEP = (
    '{% for a in "x"*2000 %}{% for b in "x"*2000 %}{% for c in "x"*2000 %}'
    "{% endfor %}{% endfor %}{% endfor %}"
)
CONCAT_GROWTH = (
    '{% set a = "x"*10000 %}{% set b = a~a~a~a~a~a~a~a~a~a %}'
    "{% set c = b~b~b~b~b~b~b~b~b~b %}{% set d = c~c~c~c~c~c~c~c~c~c %}{{ d|length }}"
)
REPLACE_GROWTH = '{% set a = "x"*10000 %}{{ a|replace("x", a)|length }}'
# Within the step and character limits, but every step scans half a million characters:
# only the time limit stops it.
SLOW = (
    '{% set a = "x "*5000 %}{% set b = a~a~a~a~a~a~a~a~a~a %}{% set c = b~b~b~b~b %}'
    '{% for i in "x"*9000 %}{{ c|wordcount }}{% endfor %}'
)


async def test_template_bombs_are_refused_at_the_content_step_with_their_message(
    bot: BotHarness,
) -> None:
    await grant(bot, M)
    await start_dialog(bot, "Bombs")
    await bot.press(M, "✈️ Telegram")
    loops = await bot.say(M, LOOPS_3_DEEP, language_code="en")
    assert "The template repeats too much: more than 10000 loop steps" in loops.text
    assert "send the message again" in loops.text
    grown = await bot.say(M, CONCAT_GROWTH, language_code="en")
    assert "The template makes too much text: more than 1000000 characters" in grown.text
    replaced = await bot.say(M, REPLACE_GROWTH, language_code="ru")
    assert "Шаблон создаёт слишком много текста: больше 1000000 символов" in replaced.text
    assert (await stored(bot, "Bombs")).body == ""  # nothing was stored
    options = await bot.say(M, "Fine now", language_code="en")
    assert "Telegram message options" in options.text


@pytest.mark.slow
async def test_other_chats_are_answered_while_a_heavy_template_renders(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    """A template that takes the whole time limit (6 s here, to leave a loaded machine
    room): the other manager's /help is answered before the refusal comes."""
    renderer = JinjaRenderer(seconds=6.0)
    async with running_bot(fake_api, migrated_pg_url, services={"renderer": renderer}) as bot:
        await grant(bot, M, OTHER)
        await start_dialog(bot, "Slow")
        await bot.press(M, "✈️ Telegram")
        bot.api.send_text(M, SLOW, language_code="en")
        mark = bot.api.mark(OTHER)
        bot.api.send_text(OTHER, "/help", language_code="en")
        helped = await bot.api.wait_for_message(OTHER, since=mark, timeout=30)
        assert "/new" in helped.text
        answered = bot.api.mark(M)
        refused = await bot.api.wait_for_message(M, since=answered, timeout=60)
        assert "The template takes too long to fill: more than 6 s" in refused.text
