"""The content step refuses what the preview would block (``preview.check_content``), with
the preview's own notice, rendered for the same first recipient."""

from __future__ import annotations

import pytest

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import preview
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase

OWNER = 1
PHOTO = {"type": "photo", "file_id": "AgAD"}


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(users=[User(OWNER, role=Role.manager)])


async def a_mailing(db: MemoryDatabase, channel: Channel = Channel.telegram) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Readers", OWNER, fields=["name"]))
        reader = await uow.addresses.upsert(
            Address(AddressKind.telegram, "7001", {"name": "N" * 900})
        )
        await uow.members.add_members(rlist.id or 0, [reader.id or 0])
        made = await uow.mailings.add(Mailing(OWNER, "News", channel, list_ids=[rlist.id or 0]))
        await uow.commit()
    return made.id or 0


async def check(
    db: MemoryDatabase, mailing_id: int, body: str, media: dict[str, str] | None = None
) -> preview.Notice | None:
    return await preview.check_content(
        db.uow_factory, JinjaRenderer(), OWNER, mailing_id, body, media
    )


async def test_text_over_telegrams_limit_is_refused_with_the_previews_notice(
    db: MemoryDatabase,
) -> None:
    mailing_id = await a_mailing(db)
    found = await check(db, mailing_id, "x" * 4097)
    assert found == preview.Notice("preview-too-long", {"length": 4097, "limit": 4096})
    assert await check(db, mailing_id, "x" * 4096) is None


async def test_a_caption_is_measured_against_the_caption_limit(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    assert await check(db, mailing_id, "x" * 1000) is None
    found = await check(db, mailing_id, "x" * 1025, PHOTO)
    assert found is not None and found.params == {"length": 1025, "limit": 1024}


async def test_placeholders_count_with_the_first_recipients_values(db: MemoryDatabase) -> None:
    """200 characters typed, but the first recipient's name makes the caption 1,100."""
    mailing_id = await a_mailing(db)
    found = await check(db, mailing_id, "Hi {{ name }}" + "!" * 197, PHOTO)
    assert found is not None and found.key == "preview-too-long"


async def test_a_broken_template_and_broken_html_are_refused(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db)
    broken = await check(db, mailing_id, "Hello {% for x in %}")
    assert broken is not None and broken.key == "preview-template-error"
    assert broken.blocking
    html = await check(db, mailing_id, "<b>bold")
    assert html is not None and html.key.startswith("content-html-") and html.blocking


async def test_emails_have_no_telegram_length_limit(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db, Channel.email)
    assert await check(db, mailing_id, "x" * 10_000) is None


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (
            '{% for a in "x"*2000 %}{% for b in "x"*2000 %}{% for c in "x"*2000 %}'
            "{% endfor %}{% endfor %}{% endfor %}",
            "content-template-steps",
        ),
        ('{% set a = "x"*10000 %}{{ a|replace("x", a)|length }}', "content-template-chars"),
    ],
)
async def test_a_template_over_a_render_limit_is_refused_with_its_own_notice(
    db: MemoryDatabase, body: str, key: str
) -> None:
    mailing_id = await a_mailing(db)
    found = await check(db, mailing_id, body)
    assert found is not None and found.key == key and found.blocking
