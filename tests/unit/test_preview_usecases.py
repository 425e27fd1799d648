"""The preview (``domain.usecases.preview``) on the in-memory unit of work and the real
Jinja renderer: what the first recipient receives, who else is reached, and which
warnings stop a launch (and which only a launch to the lists, not a test send)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import NotFound
from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import preview
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase

OWNER, COLLEAGUE = 1, 2
NOW = datetime(2026, 12, 7, tzinfo=UTC)
EVERY_CHANNEL = frozenset(Channel)


@dataclass
class Stars:
    """``PaidBroadcasts``: the configured rate and what Telegram says the balance is."""

    rate: float = 1000.0
    stars: Decimal | None = Decimal(100)

    async def balance(self) -> Decimal | None:
        return self.stars


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[User(OWNER, role=Role.manager), User(COLLEAGUE, role=Role.manager)]
    )


async def a_list(db: MemoryDatabase, *addresses: Address) -> int:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"L{len(db.lists)}", OWNER, fields=["name"]))
        ids = [(await uow.addresses.upsert(a)).id or 0 for a in addresses]
        await uow.members.add_members(rlist.id or 0, ids)
        await uow.commit()
    return rlist.id or 0


async def a_mailing(db: MemoryDatabase, **fields: object) -> int:
    async with db.uow_factory() as uow:
        made = await uow.mailings.add(Mailing(OWNER, f"M{len(db.mailings)}", **fields))
        await uow.commit()
    return made.id or 0


async def look(
    db: MemoryDatabase,
    mailing_id: int,
    available: frozenset[Channel] = EVERY_CHANNEL,
    paid: Stars | None = None,
) -> preview.Preview:
    return await preview.build(db.uow_factory, JinjaRenderer(), OWNER, mailing_id, available, paid)


def keys(shown: preview.Preview) -> list[str]:
    return [w.key for w in shown.warnings]


async def test_the_first_recipient_sees_their_own_values(db: MemoryDatabase) -> None:
    list_id = await a_list(
        db,
        Address(AddressKind.email, "ann@example.com", {"name": "Ann"}),
        Address(AddressKind.email, "bob@example.com"),
    )
    mailing_id = await a_mailing(
        db,
        channel=Channel.email,
        subject="For {{ name }}",
        body="Hello {{ name }}, this goes to {{ email }}",
        list_ids=[list_id],
    )
    shown = await look(db, mailing_id)
    assert shown.body == "Hello Ann, this goes to ann@example.com"
    assert shown.subject == "For Ann"
    assert shown.audience.reachable == 2 and shown.can_launch
    assert [(w.key, w.params) for w in shown.warnings] == [
        ("preview-missing-placeholder", {"name": "name", "count": 1})  # Bob has no name
    ]


async def test_the_audience_is_deduplicated_and_counts_who_is_left_out(
    db: MemoryDatabase,
) -> None:
    ann = Address(AddressKind.email, "ann@example.com")
    first = await a_list(
        db, ann, Address(AddressKind.email, "gone@example.com", unsubscribed_at=NOW)
    )
    second = await a_list(db, ann, Address(AddressKind.telegram, "5005"))
    mailing_id = await a_mailing(
        db, channel=Channel.email, subject="Hi", body="Hi", list_ids=[first, second]
    )
    shown = await look(db, mailing_id)
    assert (shown.audience.reachable, shown.audience.suppressed, shown.audience.other_kinds) == (
        1,
        1,
        1,
    )
    assert keys(shown) == ["preview-suppressed", "preview-other-kinds"]
    assert shown.can_launch  # both only inform


async def test_what_is_missing_blocks_the_launch(db: MemoryDatabase) -> None:
    empty = await a_list(db)
    mailing_id = await a_mailing(db, channel=Channel.email, body=" ", list_ids=[empty])
    shown = await look(db, mailing_id, available=frozenset({Channel.telegram}))
    assert keys(shown) == [
        "preview-channel-unavailable",
        "preview-no-body",
        "preview-no-subject",
        "preview-empty-audience",
    ]
    assert not shown.can_launch
    assert all(w.blocking for w in shown.warnings)
    stop = preview.stopper(shown)
    assert stop is not None and stop.key == "preview-channel-unavailable"


async def test_a_test_send_ignores_the_lists_but_nothing_else(db: MemoryDatabase) -> None:
    no_lists = await a_mailing(db, channel=Channel.telegram, body="Ready")
    shown = await look(db, no_lists)
    assert keys(shown) == ["preview-no-lists"]
    assert preview.stopper(shown) is not None
    assert preview.stopper(shown, to_lists=False) is None  # the test goes to its sender
    broken = await a_mailing(db, channel=Channel.telegram, body="<b>open")
    stop = preview.stopper(await look(db, broken), to_lists=False)
    assert stop is not None and stop.key.startswith("content-html-")


@pytest.mark.parametrize(
    ("media", "limit"), [(None, 4096), ({"kind": "photo", "file_id": "x"}, 1024)]
)
async def test_a_telegram_text_or_caption_over_its_limit_is_refused(
    db: MemoryDatabase, media: dict[str, str] | None, limit: int
) -> None:
    list_id = await a_list(db, Address(AddressKind.telegram, "5005"))
    fits = await a_mailing(
        db,
        channel=Channel.telegram,
        body="<b>" + "x" * limit + "</b>",
        media=media,
        list_ids=[list_id],
    )
    assert (await look(db, fits)).can_launch  # tags do not count, visible characters do
    too_long = await a_mailing(
        db, channel=Channel.telegram, body="x" * (limit + 1), media=media, list_ids=[list_id]
    )
    shown = await look(db, too_long)
    assert [(w.key, w.params) for w in shown.warnings] == [
        ("preview-too-long", {"length": limit + 1, "limit": limit})
    ]


async def test_a_template_error_is_shown_not_raised(db: MemoryDatabase) -> None:
    list_id = await a_list(db, Address(AddressKind.telegram, "5005"))
    mailing_id = await a_mailing(
        db, channel=Channel.telegram, body="Hello {{ name", list_ids=[list_id]
    )
    shown = await look(db, mailing_id)
    assert "preview-template-error" in keys(shown) and not shown.can_launch


async def test_a_fast_mailing_weighs_its_most_cost_against_the_stars(db: MemoryDatabase) -> None:
    list_id = await a_list(db, *(Address(AddressKind.telegram, str(n)) for n in range(2000)))
    mailing_id = await a_mailing(
        db, channel=Channel.telegram, body="Sale", fast=True, list_ids=[list_id]
    )
    short = await look(db, mailing_id, paid=Stars(stars=Decimal(100)))
    assert short.paid is not None and short.paid.cost == Decimal(200)  # 0.1 Star each
    assert [(w.key, w.params) for w in short.warnings] == [
        ("preview-stars-short", {"cost": "200.0", "balance": "100"})
    ]
    assert not short.can_launch
    assert (await look(db, mailing_id, paid=Stars(stars=Decimal(500)))).can_launch
    assert keys(await look(db, mailing_id, paid=Stars(stars=None))) == ["preview-stars-unknown"]
    # at the free rate nothing is paid, so nothing is weighed
    assert (await look(db, mailing_id, paid=Stars(rate=30.0, stars=None))).paid is None


async def test_another_managers_mailing_has_no_preview(db: MemoryDatabase) -> None:
    mailing_id = await a_mailing(db, channel=Channel.telegram, body="Mine")
    with pytest.raises(NotFound):
        await preview.build(db.uow_factory, JinjaRenderer(), COLLEAGUE, mailing_id, EVERY_CHANNEL)


async def test_a_template_over_a_render_limit_gets_its_own_blocking_notice(
    db: MemoryDatabase,
) -> None:
    """Fine for an empty sample, a bomb for the first recipient's long name."""
    list_id = await a_list(db, Address(AddressKind.telegram, "5005", {"name": "n" * 2000}))
    loops = "{% for a in name %}{% for b in name %}{% for c in name %}.{% endfor %}{% endfor %}"
    mailing_id = await a_mailing(
        db, channel=Channel.telegram, body=loops + "{% endfor %}", list_ids=[list_id]
    )
    shown = await look(db, mailing_id)
    assert keys(shown) == ["content-template-steps"] and not shown.can_launch
    assert shown.warnings[0].params["limit"] == 10_000


async def test_media_without_text_launches_and_what_telegram_refuses_blocks(
    db: MemoryDatabase,
) -> None:
    list_id = await a_list(db, Address(AddressKind.telegram, "5006"))
    sticker = {"type": "sticker", "file_id": "s"}
    bare = await a_mailing(db, channel=Channel.telegram, media=sticker, list_ids=[list_id])
    assert (await look(db, bare)).can_launch  # no text is no problem for media
    spoken = await a_mailing(
        db, channel=Channel.telegram, body="Hi", media=sticker, list_ids=[list_id]
    )
    assert [w.key for w in (await look(db, spoken)).warnings] == ["media-caption-refused"]
    album = {"type": "album", "items": [{"type": "photo", "file_id": "p"}] * 2}
    buttons = [[{"text": "Site", "url": "https://example.com"}]]
    pressed = await a_mailing(
        db,
        channel=Channel.telegram,
        body="Trip",
        media=album,
        options={"buttons": buttons},
        list_ids=[list_id],
    )
    shown = await look(db, pressed)
    assert [w.key for w in shown.warnings] == ["media-album-no-buttons"] and not shown.can_launch


async def test_an_exact_copy_is_not_rendered_and_the_preview_says_so(db: MemoryDatabase) -> None:
    list_id = await a_list(db, Address(AddressKind.telegram, "5007"))
    copy = {"type": "copy", "from_chat_id": 1, "message_ids": [2], "kind": "text"}
    exact = await a_mailing(
        db, channel=Channel.telegram, body="Hi {{ name }}", media=copy, list_ids=[list_id]
    )
    shown = await look(db, exact)
    assert shown.can_launch and shown.body == "Hi {{ name }}"
    assert [(w.key, w.params) for w in shown.warnings] == [
        ("media-copy-as-is", {"placeholders": 1})
    ]
