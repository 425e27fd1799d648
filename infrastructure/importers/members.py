"""``SqlMemberUpserter``: members sent as JSON go through the file importer's SQL (one
staging batch, the same set-based statements), so both paths store the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import InvalidInput
from domain.imports import INVALID_EMAIL, NO_ADDRESS
from domain.members import MemberInput, MembersReport, RejectedMember
from infrastructure.db import statistics
from infrastructure.importers.headers import attribute_key, unique_keys
from infrastructure.importers.postgres import store_postgres
from infrastructure.importers.rows import EMAIL, TELEGRAM, Record
from infrastructure.importers.sql import Counts
from infrastructure.importers.sqlite import store_sqlite
from infrastructure.importers.validation import (
    normalize_email,
    parse_telegram_id,
    telegram_reason,
)


class SqlMemberUpserter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upsert(self, list_id: int, members: Sequence[MemberInput]) -> MembersReport:
        keys, key_of = _keys(members)
        records: list[Record] = []
        report = MembersReport()
        for index, member in enumerate(members):
            attributes = _attributes(member, keys, key_of)
            found = _addresses(member)
            if isinstance(found, str):
                report.rejected.append(RejectedMember(index, found))
                continue
            records.extend((index + 1, kind, value, *attributes) for kind, value in found)
        if not records:
            raise InvalidInput("members-all-invalid", report=report)
        counts = await self._store(list_id, keys, records)
        report.added, report.updated = counts.added, counts.already_there
        report.suppressed = counts.suppressed
        return report

    async def _store(self, list_id: int, keys: list[str], records: list[Record]) -> Counts:
        async def one_batch() -> AsyncIterator[list[Record]]:
            yield records

        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                async with conn.begin():
                    counts = await store_postgres(conn, list_id, keys, one_batch())
            else:
                counts = await store_sqlite(conn, list_id, keys, one_batch())
        written = counts.unique - counts.already_there
        await statistics.refresh_after(
            self._engine, {"addresses": written, "list_members": written}
        )
        return counts


def _keys(members: Sequence[MemberInput]) -> tuple[list[str], dict[str, str]]:
    """Attribute keys as the importer makes them from headers: ``name`` first, then every
    field name seen, sanitised (``First Name`` → ``first_name``)."""
    seen: dict[str, None] = {}
    for member in members:
        seen.update(dict.fromkeys(member.fields))
    sanitised = unique_keys(
        [attribute_key(raw, n) for n, raw in enumerate(seen, start=1)], {"name"}
    )
    key_of = dict(zip(seen, sanitised, strict=True))
    return ["name", *sanitised], key_of


def _attributes(member: MemberInput, keys: list[str], key_of: dict[str, str]) -> list[str]:
    values = {key_of[raw]: value for raw, value in member.fields.items()}
    values["name"] = member.name or ""
    return [values.get(key, "") for key in keys]


def _addresses(member: MemberInput) -> list[tuple[str, str]] | str:
    """The member's addresses, or why it is rejected (the file importer's reasons)."""
    email = (member.email or "").strip()
    chat = (member.telegram_id or "").strip()
    if not email and not chat:
        return NO_ADDRESS
    found: list[tuple[str, str]] = []
    if email:
        value = normalize_email(email)
        if value is None:
            return INVALID_EMAIL
        found.append((EMAIL, value))
    if chat:
        chat_id = parse_telegram_id(chat)
        if chat_id is None:
            return telegram_reason(chat)
        found.append((TELEGRAM, chat_id))
    return found
