"""The in-memory unit of work behaves as a transaction: nothing is seen before a commit,
everything written after the last commit is dropped on leaving."""

from __future__ import annotations

import pytest

from domain.recipients import RecipientList
from tests.fakes.memory_uow import MemoryDatabase


async def test_only_committed_writes_are_kept() -> None:
    db = MemoryDatabase()
    with pytest.raises(RuntimeError):
        async with db.uow_factory() as uow:
            await uow.lists.add(RecipientList("Kept", 1))
            await uow.commit()
            await uow.lists.add(RecipientList("Dropped", 1))
            async with db.uow_factory() as other:  # another transaction
                assert [r.name for r in await other.lists.all()] == ["Kept"]
            raise RuntimeError("a failure after the commit")
    assert [r.name for r in db.lists.values()] == ["Kept"]
    async with db.uow_factory() as uow:
        rlist = await uow.lists.find_by_name("kept")
        assert rlist is not None
        rlist.name = "Changed"  # a loaded object is a copy, not the stored row
    assert db.lists[rlist.id or 0].name == "Kept" and db.committed == 1
