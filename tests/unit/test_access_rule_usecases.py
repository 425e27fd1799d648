"""Use cases whose rules are mostly who may do what, on the in-memory unit of work:
hand suppressions (``suppressions``), API tokens (``api_tokens``), members pushed by a
program (``list_members``) and tags typed by hand (``tags``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from domain.api_tokens import SECRET_PREFIX, SHOWN_CHARS, hash_secret
from domain.errors import AccessDenied, InvalidInput, NotFound, Unauthenticated
from domain.members import MAX_MEMBERS_PER_CALL, MemberInput, MembersReport, RejectedMember
from domain.recipients import Address, AddressKind, RecipientList
from domain.segments import TAGS
from domain.usecases import api_tokens, list_members, suppressions, tags
from domain.users import Role
from tests.fakes.memory_uow import MemoryDatabase
from tests.fakes.team import (
    ADMIN,
    MANAGER,
    NOW,
    OTHER,
    REVOKED,
    STRANGER,
    team_database,
)


@pytest.fixture
def db() -> MemoryDatabase:
    return team_database()


async def a_list(db: MemoryDatabase, *values: str, owner: int = OTHER) -> int:
    """A list of ``owner`` (another manager by default) with these email members."""
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Clients", owner))
        ids = [(await uow.addresses.upsert(Address(AddressKind.email, v))).id or 0 for v in values]
        await uow.members.add_members(rlist.id or 0, ids)
        await uow.commit()
    return rlist.id or 0


# -- suppressions ------------------------------------------------------------------------


async def test_an_admin_suppresses_an_address_once_and_it_is_audited(db: MemoryDatabase) -> None:
    email = AddressKind.email
    address, changed = await suppressions.suppress(db.uow_factory, ADMIN, email, "a@x.io", NOW)
    assert changed and address.refused_at == NOW
    stored = db.addresses[address.id or 0]
    assert (stored.value, stored.is_suppressed) == ("a@x.io", True)
    assert [(e.actor_id, e.action, e.details) for e in db.audit] == [
        (ADMIN, "suppression.add", {"kind": "email"})
    ]
    later = NOW + timedelta(days=1)
    again, changed = await suppressions.suppress(db.uow_factory, ADMIN, email, "a@x.io", later)
    assert not changed and again.refused_at == NOW  # the first time stays, nothing written
    assert len(db.audit) == 1 and len(db.addresses) == 1


async def test_an_address_unsubscribed_already_is_not_suppressed_again(
    db: MemoryDatabase,
) -> None:
    async with db.uow_factory() as uow:
        await uow.addresses.upsert(Address(AddressKind.email, "b@x.io", unsubscribed_at=NOW))
        await uow.commit()
    address, changed = await suppressions.suppress(
        db.uow_factory, ADMIN, AddressKind.email, "b@x.io", NOW + timedelta(hours=1)
    )
    assert not changed and address.refused_at is None and db.audit == []


@pytest.mark.parametrize("actor", [MANAGER, STRANGER, REVOKED, 999])
async def test_only_an_admin_suppresses(db: MemoryDatabase, actor: int) -> None:
    with pytest.raises(AccessDenied) as refused:
        await suppressions.suppress(db.uow_factory, actor, AddressKind.email, "c@x.io", NOW)
    assert refused.value.key == ("api-admins-only" if actor == MANAGER else "error-access-denied")
    assert db.addresses == {} and db.audit == [] and db.committed == 0


# -- API tokens --------------------------------------------------------------------------


async def test_staff_make_tokens_for_themselves_and_only_the_hash_is_stored(
    db: MemoryDatabase,
) -> None:
    token, secret = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "  my  shop ")
    assert secret.startswith(SECRET_PREFIX)
    stored = db.api_tokens[token.id or 0]
    assert (stored.owner_id, stored.name, stored.hint) == (
        MANAGER,
        "my shop",
        secret[:SHOWN_CHARS],
    )
    assert stored.token_hash == hash_secret(secret) and secret not in repr(stored)
    assert [(e.actor_id, e.action, e.target_id, e.details) for e in db.audit] == [
        (MANAGER, "api_token.create", str(MANAGER), {"name": "my shop"})
    ]


async def test_nobody_makes_a_token_for_someone_else_but_the_console(db: MemoryDatabase) -> None:
    with pytest.raises(AccessDenied) as refused:
        await api_tokens.create_token(db.uow_factory, ADMIN, MANAGER, "x")  # even an admin
    assert refused.value.key == "api-token-not-yours"
    for actor in (STRANGER, REVOKED):
        with pytest.raises(AccessDenied):
            await api_tokens.create_token(db.uow_factory, actor, actor, "x")
    assert db.api_tokens == {}
    # the console (no actor) makes one for anyone who holds a role, and no one else
    token, _ = await api_tokens.create_token(db.uow_factory, None, OTHER, None)
    assert (token.owner_id, token.name) == (OTHER, "token")
    assert db.audit[-1].actor_id is None
    for owner in (STRANGER, REVOKED, 999):
        with pytest.raises(NotFound) as missing:
            await api_tokens.create_token(db.uow_factory, None, owner, "x")
        assert missing.value.key == "api-token-owner-not-staff"
    assert len(db.api_tokens) == 1


async def test_a_token_acts_as_its_owner_until_revoked(db: MemoryDatabase) -> None:
    token, secret = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "ci")
    owner = await api_tokens.authenticate(db.uow_factory, secret, NOW)
    assert owner.telegram_id == MANAGER and owner.role is Role.manager
    with pytest.raises(Unauthenticated):
        await api_tokens.authenticate(db.uow_factory, secret + "x", NOW)
    with pytest.raises(NotFound):  # another manager's token looks like a missing one
        await api_tokens.revoke_token(db.uow_factory, OTHER, token.id or 0, NOW)
    assert db.api_tokens[token.id or 0].is_active
    revoked = await api_tokens.revoke_token(db.uow_factory, MANAGER, token.id or 0, NOW)
    assert revoked.id == token.id and db.api_tokens[token.id or 0].revoked_at == NOW
    with pytest.raises(Unauthenticated):
        await api_tokens.authenticate(db.uow_factory, secret, NOW)
    audited = len(db.audit)
    await api_tokens.revoke_token(db.uow_factory, MANAGER, token.id or 0, NOW)  # again: no-op
    assert len(db.audit) == audited and db.api_tokens[token.id or 0].revoked_at == NOW
    with pytest.raises(NotFound) as missing:
        await api_tokens.revoke_token(db.uow_factory, MANAGER, 999, NOW)
    assert missing.value.key == "api-token-not-found"


async def test_an_admin_revokes_anyones_token(db: MemoryDatabase) -> None:
    token, _ = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "ci")
    await api_tokens.revoke_token(db.uow_factory, ADMIN, token.id or 0, NOW)
    assert db.api_tokens[token.id or 0].revoked_at == NOW
    entry = db.audit[-1]
    assert (entry.actor_id, entry.action, entry.target_id) == (ADMIN, "api_token.revoke", "2")


async def test_a_token_stops_when_its_owner_loses_the_role(db: MemoryDatabase) -> None:
    _, secret = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "ci")
    db.users[MANAGER].role = None
    with pytest.raises(Unauthenticated):
        await api_tokens.authenticate(db.uow_factory, secret, NOW)
    db.users[MANAGER].role = Role.admin  # the role now, not the one at creation
    assert (await api_tokens.authenticate(db.uow_factory, secret, NOW)).is_admin
    del db.users[MANAGER]  # an owner the bot no longer knows at all
    with pytest.raises(Unauthenticated):
        await api_tokens.authenticate(db.uow_factory, secret, NOW)


async def test_the_last_use_is_noted_at_most_once_a_minute(db: MemoryDatabase) -> None:
    token, secret = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "ci")
    commits = db.committed
    await api_tokens.authenticate(db.uow_factory, secret, NOW)
    await api_tokens.authenticate(db.uow_factory, secret, NOW + timedelta(seconds=59))
    assert db.api_tokens[token.id or 0].last_used_at == NOW and db.committed == commits + 1
    await api_tokens.authenticate(db.uow_factory, secret, NOW + api_tokens.TOUCH_EVERY)
    assert db.api_tokens[token.id or 0].last_used_at == NOW + api_tokens.TOUCH_EVERY


async def test_staff_list_their_own_tokens_newest_first(db: MemoryDatabase) -> None:
    first, _ = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "one")
    second, _ = await api_tokens.create_token(db.uow_factory, MANAGER, MANAGER, "two")
    await api_tokens.create_token(db.uow_factory, OTHER, OTHER, "theirs")
    await api_tokens.revoke_token(db.uow_factory, MANAGER, first.id or 0, NOW)
    mine = await api_tokens.list_tokens(db.uow_factory, MANAGER)
    assert [(t.name, t.is_active) for t in mine] == [("two", True), ("one", False)]
    assert mine[0].id == second.id
    with pytest.raises(AccessDenied):
        await api_tokens.list_tokens(db.uow_factory, STRANGER)


# -- members pushed by a program ---------------------------------------------------------


class Upserter:
    """``MemberUpserter``: adds the inputs with an email to the list, rejects the rest
    (the real validation is ``infrastructure``'s, tested there)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.calls: list[tuple[int, int]] = []

    async def upsert(self, list_id: int, members: Sequence[MemberInput]) -> MembersReport:
        self.calls.append((list_id, len(members)))
        report = MembersReport()
        async with self.db.uow_factory() as uow:
            for index, member in enumerate(members):
                if not member.email:
                    report.rejected.append(RejectedMember(index, "import-invalid-email"))
                    continue
                address = await uow.addresses.upsert(Address(AddressKind.email, member.email))
                report.added += await uow.members.add_members(list_id, [address.id or 0])
            await uow.commit()
        return report


async def test_any_staff_member_pushes_members_to_a_shared_list(db: MemoryDatabase) -> None:
    list_id = await a_list(db, owner=OTHER)
    upserter = Upserter(db)
    members = [MemberInput(email="a@x.io"), MemberInput(telegram_id="nope")]
    report = await list_members.upsert_members(db.uow_factory, upserter, MANAGER, list_id, members)
    assert report.added == 1 and [r.index for r in report.rejected] == [1]
    assert len(db.members[list_id]) == 1
    entry = db.audit[-1]
    assert (entry.actor_id, entry.action, entry.target_id, entry.details) == (
        MANAGER,
        "list.import",
        str(list_id),
        {"source": "api", "added": 1, "invalid": 1},
    )


async def test_pushed_members_are_refused_before_anything_is_stored(db: MemoryDatabase) -> None:
    list_id = await a_list(db)
    upserter = Upserter(db)
    too_many = [MemberInput(email=f"{i}@x.io") for i in range(MAX_MEMBERS_PER_CALL + 1)]
    with pytest.raises(InvalidInput) as refused:
        await list_members.upsert_members(db.uow_factory, upserter, MANAGER, list_id, too_many)
    assert (refused.value.key, refused.value.params) == (
        "members-too-many",
        {"max": MAX_MEMBERS_PER_CALL},
    )
    one = [MemberInput(email="a@x.io")]
    with pytest.raises(NotFound) as missing:
        await list_members.upsert_members(db.uow_factory, upserter, MANAGER, 999, one)
    assert missing.value.key == "lists-not-found"
    for actor in (STRANGER, REVOKED):
        with pytest.raises(AccessDenied):
            await list_members.upsert_members(db.uow_factory, upserter, actor, list_id, one)
    assert upserter.calls == [] and db.members[list_id] == [] and db.audit == []


# -- tags typed by hand ------------------------------------------------------------------


class EmailParser:
    """``AddressParser``: an email, lowercased (the real rules are ``infrastructure``'s)."""

    def parse(self, text: str) -> tuple[AddressKind, str]:
        if "@" not in text:
            raise InvalidInput("lists-address-invalid")
        return AddressKind.email, text.strip().lower()


def tags_of(db: MemoryDatabase, value: str) -> object:
    found = [a for a in db.addresses.values() if a.value == value]
    return found[0].attributes.get(TAGS)


async def test_a_tag_is_added_to_the_members_named_and_the_list_gets_the_field(
    db: MemoryDatabase,
) -> None:
    list_id = await a_list(db, "a@x.io", "b@x.io")
    async with db.uow_factory() as uow:  # someone outside the list
        await uow.addresses.upsert(Address(AddressKind.email, "out@x.io"))
        await uow.commit()
    text = " VIP \nA@x.io\n\nout@x.io\nnew@x.io\n"
    result = await tags.tag_members(db.uow_factory, EmailParser(), MANAGER, list_id, text)
    assert (result.tag, result.add, result.changed) == ("vip", True, 1)
    assert result.not_members == ["out@x.io", "new@x.io"]
    assert tags_of(db, "a@x.io") == "vip" and tags_of(db, "b@x.io") is None
    assert tags_of(db, "out@x.io") is None and len(db.addresses) == 3  # nobody is created
    assert TAGS in db.lists[list_id].fields
    again = await tags.tag_members(db.uow_factory, EmailParser(), MANAGER, list_id, text)
    assert again.changed == 1 and tags_of(db, "a@x.io") == "vip"  # once, not twice


async def test_a_minus_removes_the_tag_and_keeps_the_others(db: MemoryDatabase) -> None:
    list_id = await a_list(db, "a@x.io")
    parser = EmailParser()
    await tags.tag_members(db.uow_factory, parser, MANAGER, list_id, "vip\na@x.io")
    await tags.tag_members(db.uow_factory, parser, MANAGER, list_id, "paid\na@x.io")
    assert tags_of(db, "a@x.io") == "vip, paid"
    result = await tags.tag_members(db.uow_factory, parser, MANAGER, list_id, "-VIP\na@x.io")
    assert (result.tag, result.add, result.changed) == ("vip", False, 1)
    assert tags_of(db, "a@x.io") == "paid"


async def test_a_bad_message_refuses_the_whole_tagging(db: MemoryDatabase) -> None:
    list_id = await a_list(db, "a@x.io")
    parser = EmailParser()
    cases = [
        ("vip", "tags-need-lines", {}),
        ("vip\na@x.io\nnot an address", "tags-bad-line", {"line": 3, "value": "not an address"}),
        ("vip, paid\na@x.io", "segment-one-tag", {}),
        ("vip\n" + "\n".join(["a@x.io"] * (tags.MAX_LINES + 1)), "tags-too-many", {"limit": 200}),
    ]
    for text, key, params in cases:
        with pytest.raises(InvalidInput) as refused:
            await tags.tag_members(db.uow_factory, parser, MANAGER, list_id, text)
        assert (refused.value.key, refused.value.params) == (key, params)
    assert tags_of(db, "a@x.io") is None and TAGS not in db.lists[list_id].fields


async def test_tags_need_staff_and_an_existing_list(db: MemoryDatabase) -> None:
    list_id = await a_list(db, "a@x.io")
    with pytest.raises(AccessDenied):
        await tags.tag_members(db.uow_factory, EmailParser(), STRANGER, list_id, "vip\na@x.io")
    with pytest.raises(NotFound) as missing:
        await tags.tag_members(db.uow_factory, EmailParser(), MANAGER, 999, "vip\na@x.io")
    assert missing.value.key == "lists-not-found"
    assert tags_of(db, "a@x.io") is None
