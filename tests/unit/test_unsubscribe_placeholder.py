"""``{{ unsubscribe_url }}`` in the preview (``domain.usecases.preview``) on the in-memory
unit of work: an email renders the mark the email channel replaces per recipient, and is
not short of a value; another channel has no such link and cannot launch with it."""

from __future__ import annotations

import pytest

from domain.mailings import Channel, Mailing
from domain.recipients import Address, AddressKind, RecipientList
from domain.unsubscribe import MARK, with_unsubscribe_link
from domain.usecases import preview
from domain.users import Role, User
from infrastructure.rendering import JinjaRenderer
from tests.fakes.memory_uow import MemoryDatabase

OWNER = 1
LINK = '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'


async def shown(channel: Channel, kind: AddressKind, value: str) -> preview.Preview:
    db = MemoryDatabase(users=[User(OWNER, role=Role.manager)])
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("L", OWNER))
        address = await uow.addresses.upsert(Address(kind, value))
        await uow.members.add_members(rlist.id or 0, [address.id or 0])
        subject = "Hi" if channel is Channel.email else None
        mailing = await uow.mailings.add(
            Mailing(OWNER, "M", channel, body=LINK, subject=subject, list_ids=[rlist.id or 0])
        )
        await uow.commit()
    every = frozenset(Channel)
    return await preview.build(db.uow_factory, JinjaRenderer(), OWNER, mailing.id or 0, every)


async def test_an_email_renders_the_mark_and_can_launch() -> None:
    email = await shown(Channel.email, AddressKind.email, "ann@example.com")
    assert email.body == f'<a href="{MARK}">Unsubscribe</a>'
    assert email.can_launch and email.warnings == []  # not a missing placeholder


@pytest.mark.parametrize(
    ("channel", "kind", "value"),
    [
        (Channel.telegram, AddressKind.telegram, "7001"),
        (Channel.webhook, AddressKind.email, "a@b.c"),
    ],
)
async def test_another_channel_cannot_launch_with_it(
    channel: Channel, kind: AddressKind, value: str
) -> None:
    other = await shown(channel, kind, value)
    stop = preview.stopper(other)
    assert stop is not None and stop.key == "preview-unsubscribe-email-only"
    assert MARK not in other.body


def test_only_an_email_gets_the_value() -> None:
    assert with_unsubscribe_link(Channel.email, {"name": "Ann"}) == {
        "name": "Ann",
        "unsubscribe_url": MARK,
    }
    assert with_unsubscribe_link(Channel.sendsay, {"name": "Ann"}) == {"name": "Ann"}
