"""Tags added by hand: a list's members named one per line get (or lose) a tag, kept in
their ``tags`` field like an imported tags column (``domain.segments``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.errors import DomainError, InvalidInput, NotFound
from domain.ports.recipients import AddressParser
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import RecipientList
from domain.segments import TAGS, parse_tag, retagged
from domain.usecases.access import require_staff

MAX_LINES = 200


@dataclass(slots=True)
class Tagging:
    tag: str
    add: bool
    changed: int = 0
    not_members: list[str] = field(default_factory=list)  # typed but not in the list


async def tag_members(
    uow_factory: UnitOfWorkFactory,
    parser: AddressParser,
    actor_id: int,
    list_id: int,
    text: str,
) -> Tagging:
    """``text``: the tag on the first line (``-tag`` removes it), then addresses, one per
    line. All or nothing: a line that is no address refuses the whole message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise InvalidInput("tags-need-lines")
    if len(lines) > MAX_LINES + 1:
        raise InvalidInput("tags-too-many", limit=MAX_LINES)
    add = not lines[0].startswith("-")
    result = Tagging(parse_tag(lines[0].lstrip("-")), add)
    typed = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            typed.append((line, *parser.parse(line)))
        except DomainError:
            raise InvalidInput("tags-bad-line", line=number, value=line[:60]) from None
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _list(uow, list_id)
        for line, kind, value in typed:
            address = await uow.addresses.find(kind, value)
            if address is None or address.id is None:
                result.not_members.append(line)
                continue
            if not await uow.members.has_member(list_id, address.id):
                result.not_members.append(line)
                continue
            tags = retagged(address.attributes.get(TAGS), result.tag, add=add)
            address.attributes = {**address.attributes, TAGS: tags}
            await uow.addresses.update(address)
            result.changed += 1
        rlist = await _list(uow, list_id)
        if add and TAGS not in rlist.fields:
            rlist.fields = sorted({*rlist.fields, TAGS})
            await uow.lists.update(rlist)
        await uow.commit()
    return result


async def _list(uow: UnitOfWork, list_id: int) -> RecipientList:
    rlist = await uow.lists.get(list_id)
    if rlist is None:
        raise NotFound("lists-not-found")
    return rlist
