"""Message templates in the bot: create with formatting kept exactly, skip the subject,
validation at every step, edit, delete with confirmation, and who may change what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.mailings import Channel, Mailing
from domain.templates import Template
from tests.e2e.conftest import ADMIN, BotHarness, grant
from tests.fakes.bot_api_model import utf16_len

MANAGER, OTHER, STRANGER = 2002, 2003, 9009
TEXT = "Hello {{ name }}! Prices < 100 & falling. See our sale\nSecret code inside"
ENTITIES = [
    {"type": "bold", "offset": 0, "length": 5},
    {"type": "underline", "offset": 6, "length": 10},
    {"type": "italic", "offset": 18, "length": 6},
    {"type": "text_link", "offset": 46, "length": 8, "url": "https://example.com/sale?a=1&b=2"},
    {"type": "spoiler", "offset": 55, "length": 11},
    {"type": "code", "offset": 62, "length": 4},
]
HTML = (
    "<b>Hello</b> <u>{{ name }}</u>! <i>Prices</i> &lt; 100 &amp; falling. See "
    '<a href="https://example.com/sale?a=1&b=2">our sale</a>\n'
    "<tg-spoiler>Secret <code>code</code></tg-spoiler> inside"
)


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await grant(bot, MANAGER, OTHER)
    yield bot


async def say(bot: BotHarness, user_id: int, text: str, **kwargs: Any) -> str:
    return (await bot.say(user_id, text, language_code="en", **kwargs)).text or ""


async def stored(bot: BotHarness) -> list[Template]:
    async with bot.app.db.uow_factory() as uow:
        return await uow.templates.all()


async def new_template(
    bot: BotHarness, user_id: int, name: str, body: str = "Hi", subject: str | None = None
) -> int:
    await say(bot, user_id, "/templates")
    await bot.press(user_id, "➕ New template")
    await say(bot, user_id, name)
    if subject is None:
        await bot.press(user_id, "⏭ Skip")
    else:
        await say(bot, user_id, subject)
    card = await say(bot, user_id, body)
    assert f"The template “{name}” is created." in card
    found = [t.id for t in await stored(bot) if t.name == name]
    assert found and found[0] is not None
    return found[0]


async def test_templates_made_edited_validated_guarded_and_paged(staff: BotHarness) -> None:
    """One bot for the three journeys (each started its own). Each of them begins with no
    template at all: the second one leaves three behind, removed in the database before
    the third (as the fresh database of its own bot had none)."""
    await a_manager_creates_edits_and_deletes_a_formatted_template(staff)
    await every_step_validates_back_and_cancel_and_long_bodies_stand_alone(staff)
    async with staff.app.db.uow_factory() as uow:
        for template in await uow.templates.all():
            await uow.templates.delete(template.id or 0)
        await uow.commit()
    await only_the_author_or_an_admin_changes_a_template_and_the_index_pages_by_ten(staff)


async def a_manager_creates_edits_and_deletes_a_formatted_template(bot: BotHarness) -> None:
    empty = await say(bot, MANAGER, "/templates")
    assert "There are no templates yet" in empty
    await bot.press(MANAGER, "➕ New template")
    subject_prompt = await say(bot, MANAGER, "  Spring   sale ")
    assert "subject of the letter" in subject_prompt
    body_prompt = await say(bot, MANAGER, "Prices are falling")
    assert "{{ name }}" in body_prompt and "kept exactly" in body_prompt
    card = await bot.say(MANAGER, TEXT, entities=ENTITIES, language_code="en")
    [template] = await stored(bot)
    assert (template.name, template.subject, template.body) == (
        "Spring sale",
        "Prices are falling",
        HTML,
    )
    assert template.owner_id == MANAGER
    assert card.parse_mode == "HTML" and card.raw_text is not None
    assert card.raw_text.endswith("The text as recipients will see it:\n\n" + HTML)
    assert "Subject: Prices are falling" in (card.text or "")
    assert card.buttons == [
        "✏️ Edit name",
        "✏️ Edit subject",
        "✏️ Edit body",
        "🗑 Delete",
        "⬅️ Back",
    ]
    visible = card.text or ""
    body_start = utf16_len(visible[: visible.index("Hello {{ name }}")])
    kinds = {(e["type"], e["offset"] - body_start, e["length"]) for e in card.entities or []}
    assert {("bold", 0, 5), ("italic", 18, 6), ("spoiler", 55, 11), ("code", 62, 4)} <= kinds
    links = [e["url"] for e in card.entities or [] if e["type"] == "text_link"]
    assert links == ["https://example.com/sale?a=1&b=2"]
    index = await bot.press(MANAGER, "⬅️ Back")
    assert "Message templates (1)" in (index.text or "")
    assert "Subject: Prices are falling" in (index.text or "")
    assert "Hello {{ name }}! Prices < 100 & falling. See our sale Secr…" in (index.text or "")
    assert index.buttons == ["📝 Spring sale", "➕ New template"]
    async with bot.app.db.uow_factory() as uow:
        entries = await uow.audit.recent()
    assert (entries[0].action, entries[0].target_id) == ("template.create", str(template.id))

    # the author edits body, name and subject
    template_id = template.id
    assert template_id is not None
    await bot.press(MANAGER, "📝 Spring sale")
    await bot.press(MANAGER, "✏️ Edit body")
    card = await bot.say(MANAGER, TEXT, entities=ENTITIES[:1], language_code="en")
    assert "✅ Saved." in (card.text or "")
    await bot.press(MANAGER, "✏️ Edit name")
    await say(bot, MANAGER, "Monthly news")
    await bot.press(MANAGER, "✏️ Edit subject")
    card = await bot.press(MANAGER, "🚫 No subject")
    assert "Subject: none" in (card.text or "")
    async with bot.app.db.uow_factory() as uow:
        changed = await uow.templates.get(template_id)
        entries = await uow.audit.recent()
    assert changed is not None
    assert (changed.name, changed.subject) == ("Monthly news", None)
    assert changed.body == (
        "<b>Hello</b> {{ name }}! Prices &lt; 100 &amp; falling. See our sale\nSecret code inside"
    )
    updates = [e.details for e in entries if e.action == "template.update"]
    assert updates == [
        {"fields": ["subject"]},
        {"fields": ["name"], "from": "Spring sale", "to": "Monthly news"},
        {"fields": ["body"]},
    ]

    # deleting asks first, and mailings made from the template keep their text
    async with bot.app.db.uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=MANAGER,
                name="Offer run",
                channel=Channel.telegram,
                body="Offer",
                template_id=template_id,
            )
        )
        await uow.commit()
    confirm = await bot.press(MANAGER, "🗑 Delete")
    assert "Delete the template “Monthly news”?" in (confirm.text or "")
    assert "keep their own copy of the text" in (confirm.text or "")
    card = await bot.press(MANAGER, "Cancel")
    assert "📝 Monthly news" in (card.text or "")
    await bot.press(MANAGER, "🗑 Delete")
    answers = len(bot.api.callback_answers)
    index = await bot.press(MANAGER, "🗑 Yes, delete")
    assert "There are no templates yet" in (index.text or "")
    answer = await bot.api.wait_for_callback_answer(
        predicate=lambda a: bool(a.get("text")), since=answers
    )
    assert answer["text"] == "The template “Monthly news” is deleted."
    async with bot.app.db.uow_factory() as uow:
        kept = await uow.mailings.get(mailing.id or 0)
        entries = await uow.audit.recent()
    assert kept is not None and (kept.template_id, kept.body) == (None, "Offer")
    assert (entries[0].action, entries[0].details) == ("template.delete", {"name": "Monthly news"})
    assert await stored(bot) == []


async def every_step_validates_back_and_cancel_and_long_bodies_stand_alone(
    bot: BotHarness,
) -> None:
    await say(bot, MANAGER, "/templates")
    await bot.press(MANAGER, "➕ New template")
    await say(bot, MANAGER, "Draft")
    index = await bot.press(MANAGER, "Cancel")
    assert "There are no templates yet" in (index.text or "")
    await bot.press(MANAGER, "➕ New template")
    await say(bot, MANAGER, "Draft")
    assert await say(bot, MANAGER, "/cancel") == "Cancelled."
    assert await stored(bot) == []

    # the subject can be skipped
    await new_template(bot, MANAGER, "Welcome", body="Plain text")
    [template] = await stored(bot)
    assert (template.subject, template.body) == (None, "Plain text")
    card = bot.api.last_message(MANAGER)
    assert card is not None and "Subject: none" in (card.text or "")

    await say(bot, MANAGER, "/templates")
    await bot.press(MANAGER, "➕ New template")
    assert "There is a template “WELCOME” already" in await say(bot, MANAGER, "WELCOME")
    assert "1 to 100 characters" in await say(bot, MANAGER, "x" * 101)
    assert "subject of the letter" in await say(bot, MANAGER, "Promo")
    assert "at most 250 characters" in await say(bot, MANAGER, "s" * 251)
    assert "Send the text of the message" in await say(bot, MANAGER, "Big news")
    assert "The text is empty" in await say(bot, MANAGER, "   ")
    too_long = await say(bot, MANAGER, "é" * 4097)
    assert "The text is 4097 characters long" in too_long and "at most 4096" in too_long
    bot.api.send_photo(MANAGER, b"not really a jpeg", caption="Look")
    photo = await bot.api.wait_for_message(MANAGER, contains="A template holds text only")
    assert photo.text is not None
    back = await bot.press(MANAGER, "⬅️ Back")
    assert "subject of the letter" in (back.text or "") and "⏭ Skip" in back.buttons
    back = await bot.press(MANAGER, "⬅️ Back")
    assert "What should the new template be called?" in (back.text or "")
    await say(bot, MANAGER, "Promo 2")
    await bot.press(MANAGER, "⏭ Skip")
    await say(bot, MANAGER, "x" * 4096)
    names = {t.name: (t.subject, len(t.body)) for t in await stored(bot)}
    assert names == {"Welcome": (None, 10), "Promo 2": (None, 4096)}

    # a body near the limit goes under its heading separately
    await new_template(bot, MANAGER, "Long read", body="y" * 4090)
    body = await bot.api.wait_for_message(MANAGER, predicate=lambda m: m.text == "y" * 4090)
    messages = bot.api.messages(MANAGER)
    heading = messages[messages.index(body) - 1]
    assert "📝 Long read" in (heading.text or "") and heading.buttons == []
    assert body.raw_text == "y" * 4090 and "✏️ Edit body" in body.buttons


async def only_the_author_or_an_admin_changes_a_template_and_the_index_pages_by_ten(
    bot: BotHarness,
) -> None:
    template_id = await new_template(bot, MANAGER, "Mine", body="Original")
    index = await bot.say(OTHER, "/templates", language_code="en")
    card = await bot.press(OTHER, "📝 Mine", message_id=index.message_id)
    assert card.buttons == ["⬅️ Back"] and "Original" in (card.text or "")
    not_owner = "Only the template's author or an administrator can edit or delete it."
    for act in ("edit_name", "edit_body", "delete", "delete_yes", "no_subject"):
        forged = await bot.alert(OTHER, f"tpl:{act}:{template_id}:0", card.message_id)
        assert forged["text"] == not_owner
    missing = await bot.alert(OTHER, "tpl:open:999999:0", card.message_id)
    assert missing["text"] == "There is no such template; perhaps it was deleted."
    missing = await bot.alert(MANAGER, "tpl:delete_yes:999999:0", card.message_id)
    assert missing["text"] == "There is no such template; perhaps it was deleted."
    stranger = await bot.alert(STRANGER, f"tpl:open:{template_id}:0", card.message_id)
    assert "No access" in stranger["text"]
    assert "no access to it yet" in await say(bot, STRANGER, "/templates")
    [template] = await stored(bot)
    assert (template.name, template.body) == ("Mine", "Original")
    admin_index = await bot.say(ADMIN, "/templates", language_code="en")
    await bot.press(ADMIN, "📝 Mine", message_id=admin_index.message_id)
    await bot.press(ADMIN, "✏️ Edit name")
    assert "📝 Mine (checked)" in await say(bot, ADMIN, "Mine (checked)")
    await bot.press(ADMIN, "🗑 Delete")
    await bot.press(ADMIN, "🗑 Yes, delete")
    assert await stored(bot) == []

    # the index pages by ten
    async with bot.app.db.uow_factory() as uow:
        for n in range(1, 12):
            await uow.templates.add(Template(name=f"T{n:02d}", owner_id=MANAGER, body=f"Body {n}"))
        await uow.commit()
    first = await bot.say(OTHER, "/templates", language_code="en")
    assert "Message templates (11)" in (first.text or "") and "Body 10" in (first.text or "")
    assert first.buttons == [*(f"📝 T{n:02d}" for n in range(1, 11)), "▶️", "➕ New template"]
    second = await bot.press(OTHER, "▶️")
    assert "Body 11" in (second.text or "") and "Body 10" not in (second.text or "")
    assert second.buttons == ["📝 T11", "◀️", "➕ New template"]
