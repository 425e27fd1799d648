""" "Update from source", second half (``lists.remove_gone``) on the in-memory unit of
work: on the manager's confirmation the members the latest re-import did not find leave
the list, in one transaction, and nothing else does. (Marking them is the SQL importer's
work: ``tests/integration/importers/test_list_sync.py``.)"""

from __future__ import annotations

import pytest

from domain.errors import AccessDenied, NotFound
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import lists
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

MANAGER, STRANGER = 1, 2


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(users=[User(MANAGER, role=Role.manager), User(STRANGER)])


async def a_list(db: MemoryDatabase, name: str, *values: str) -> tuple[int, list[int]]:
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(name, MANAGER))
        ids = [(await uow.addresses.upsert(Address(AddressKind.email, v))).id or 0 for v in values]
        await uow.members.add_members(rlist.id or 0, ids)
        await uow.commit()
    return rlist.id or 0, ids


async def test_the_members_gone_from_the_source_leave_and_only_they(db: MemoryDatabase) -> None:
    list_id, (ann, bob, cid) = await a_list(db, "Clients", "ann@x.ru", "bob@x.ru", "cid@x.ru")
    other_id, _ = await a_list(db, "Others", "bob@x.ru")
    db.state.gone[list_id] = {bob, cid}  # what a re-import from the source marked
    commits = db.committed

    removed = await lists.remove_gone(db.uow_factory, MANAGER, list_id)

    assert removed == 2 and db.committed == commits + 1  # one transaction
    assert db.members[list_id] == [ann]
    assert len(db.members[other_id]) == 1  # another list keeps its bob
    assert len(db.addresses) == 3  # addresses stay; only memberships go
    assert [(e.action, e.details) for e in db.audit] == [("list.remove_gone", {"removed": 2})]


async def test_a_second_press_removes_nothing_and_records_nothing(db: MemoryDatabase) -> None:
    list_id, (_, bob) = await a_list(db, "Clients", "ann@x.ru", "bob@x.ru")
    db.state.gone[list_id] = {bob}
    assert await lists.remove_gone(db.uow_factory, MANAGER, list_id) == 1
    commits = db.committed
    assert await lists.remove_gone(db.uow_factory, MANAGER, list_id) == 0
    assert db.committed == commits and len(db.audit) == 1


async def test_only_staff_and_only_an_existing_list(db: MemoryDatabase) -> None:
    list_id, (ann,) = await a_list(db, "Clients", "ann@x.ru")
    db.state.gone[list_id] = {ann}
    with pytest.raises(AccessDenied):
        await lists.remove_gone(db.uow_factory, STRANGER, list_id)
    with pytest.raises(NotFound):
        await lists.remove_gone(db.uow_factory, MANAGER, list_id + 100)
    assert db.members[list_id] == [ann]
