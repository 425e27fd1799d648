"""Addresses and recipient lists, split by who uses what: the list catalogue
(``usecases.lists``, ``mailings``, ``segments``, ``tags``), its members (``usecases.lists``,
``list_members``, ``tags``) and the audiences the lists reach (``usecases.preview``,
``segments``, ``launch``, ``local_time``). One SQL class implements all three
(``infrastructure.db.repositories.lists``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from domain.members import MemberInput, MembersReport
from domain.pagination import Page
from domain.recipients import Address, AddressKind, Audience, ListSize, RecipientList
from domain.targeting import Targeting


class AddressRepository(Protocol):
    """Reachable endpoints, unique on (kind, value)."""

    async def get(self, address_id: int) -> Address | None: ...

    async def find(self, kind: AddressKind, value: str) -> Address | None: ...

    async def upsert(self, address: Address) -> Address:
        """Insert or return the existing row for (kind, value); fills ``id``."""
        ...

    async def update(self, address: Address) -> None: ...


class ListCatalogue(Protocol):
    """Named lists of addresses, shared by the team (``uow.lists``): the lists themselves,
    not who is in them."""

    async def get(self, list_id: int) -> RecipientList | None: ...

    async def add(self, rlist: RecipientList) -> RecipientList: ...

    async def update(self, rlist: RecipientList) -> None: ...

    async def delete(self, list_id: int) -> None: ...

    async def all(self) -> list[RecipientList]: ...

    async def find_by_name(self, name: str) -> RecipientList | None:
        """Case-insensitive."""
        ...


class ListMembers(Protocol):
    """Who is in a list (``uow.members``): adding, removing and paging members."""

    async def add_members(self, list_id: int, address_ids: Sequence[int]) -> int:
        """Add addresses to a list, skipping ones already there; returns how many were new."""
        ...

    async def remove_member(self, list_id: int, address_id: int) -> bool: ...

    async def remove_gone(self, list_id: int) -> int:
        """Remove the members the latest re-import from the list's source did not find
        (``ImportSource.sync`` marks them); returns how many."""
        ...

    async def has_member(self, list_id: int, address_id: int) -> bool: ...

    async def size(self, list_id: int) -> ListSize: ...

    async def members(
        self, list_id: int, page: int, size: int, query: str | None = None
    ) -> Page[Address]:
        """0-based page of members by address id; ``query`` matches value or attributes."""
        ...

    async def add_subscribers(self, list_id: int) -> int:
        """Add every bot subscriber that is not suppressed; returns how many were new."""
        ...


class Audiences(Protocol):
    """What a mailing's lists reach (``uow.audiences``): counts, missing attributes and
    the fields its members carry, for the preview, the segments and the launch."""

    async def audience(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> Audience:
        """Distinct addresses of ``kinds`` in any of the lists, split by suppression; with
        ``targeting``, only those it selects (``today``: the day its dates count from)."""
        ...

    async def missing_attributes(
        self,
        list_ids: Sequence[int],
        kinds: Sequence[AddressKind],
        keys: Sequence[str],
        targeting: Targeting | None = None,
        today: date | None = None,
    ) -> dict[str, int]:
        """For each key, how many reachable recipients have no (or an empty) value."""
        ...

    async def fields(self, list_ids: Sequence[int]) -> list[str]:
        """The attribute keys the lists' members have (``RecipientList.fields``), sorted."""
        ...

    async def field_values(self, list_ids: Sequence[int], field: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct non-empty values of ``field`` among the lists' members."""
        ...


class AddressParser(Protocol):
    """Recognises one typed address: an email (validated, normalised) or a Telegram id.

    Raises ``InvalidInput`` with a reason key (``import-invalid-email``,
    ``import-invalid-telegram-id``, ``import-no-address``) for anything else.
    """

    def parse(self, text: str) -> tuple[AddressKind, str]: ...


class MemberUpserter(Protocol):
    async def upsert(self, list_id: int, members: Sequence[MemberInput]) -> MembersReport:
        """Store the valid members in one transaction; raises ``InvalidInput``
        (``members-all-invalid``, with ``report``) and stores nothing when none is."""
