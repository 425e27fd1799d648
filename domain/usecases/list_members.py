"""Members pushed by a program: any member of staff may change a list's members, as in
the bot (lists are shared by the team; renaming and deleting are the owner's)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import InvalidInput, NotFound
from domain.members import MAX_MEMBERS_PER_CALL, MemberInput, MembersReport
from domain.ports.recipients import MemberUpserter
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.access import record, require_staff


async def upsert_members(
    uow_factory: UnitOfWorkFactory,
    upserter: MemberUpserter,
    actor_id: int,
    list_id: int,
    members: Sequence[MemberInput],
) -> MembersReport:
    if len(members) > MAX_MEMBERS_PER_CALL:
        raise InvalidInput("members-too-many", max=MAX_MEMBERS_PER_CALL)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        if await uow.lists.get(list_id) is None:
            raise NotFound("lists-not-found")
    report = await upserter.upsert(list_id, members)
    async with uow_factory() as uow:
        details = {"source": "api", "added": report.added, "invalid": len(report.rejected)}
        await record(uow, actor_id, "list.import", ("list", list_id), details)
        await uow.commit()
    return report
