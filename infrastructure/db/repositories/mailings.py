"""The Mailing aggregate: the ``mailings`` row plus its target lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.pagination import Page
from domain.targeting import Targeting
from infrastructure.db.models import DeliveryRow, MailingListRow, MailingRow, MailingRunRow
from infrastructure.db.repositories._sql import execute_dml, fetch_page, unique_name


def to_mailing(row: MailingRow, list_ids: Iterable[int] = ()) -> Mailing:
    return Mailing(
        owner_id=row.owner_id,
        name=row.name,
        channel=Channel(row.channel),
        body=row.body,
        subject=row.subject,
        template_id=row.template_id,
        media=dict(row.media) if row.media is not None else None,
        options=dict(row.options),
        fast=row.fast,
        targeting=Targeting.from_json(row.targeting),
        list_ids=sorted(list_ids),
        schedule=Schedule(
            kind=ScheduleKind(row.schedule_kind),
            run_at=row.run_at,
            cron=row.cron,
            timezone=row.timezone,
            ends_at=row.ends_at,
            max_runs=row.max_runs,
        ),
        status=MailingStatus(row.status),
        archived_at=row.archived_at,
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(mailing: Mailing) -> dict[str, Any]:
    schedule = mailing.schedule
    return {
        "owner_id": mailing.owner_id,
        "name": mailing.name,
        "channel": mailing.channel.value,
        "subject": mailing.subject,
        "body": mailing.body,
        "template_id": mailing.template_id,
        "media": mailing.media,
        "options": mailing.options,
        "fast": mailing.fast,
        "targeting": mailing.targeting.to_json(),
        "schedule_kind": schedule.kind.value,
        "run_at": schedule.run_at,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "ends_at": schedule.ends_at,
        "max_runs": schedule.max_runs,
        "status": mailing.status.value,
        "archived_at": mailing.archived_at,
    }


class SqlMailingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, mailing_id: int) -> Mailing | None:
        row = await self._session.get(MailingRow, mailing_id, populate_existing=True)
        if row is None:
            return None
        return to_mailing(row, (await self._list_ids([row.id]))[row.id])

    async def add(self, mailing: Mailing) -> Mailing:
        row = MailingRow(**_columns(mailing))
        self._session.add(row)
        with unique_name(mailing.name):
            await self._session.flush()
        mailing.id, mailing.created_at, mailing.updated_at = row.id, row.created_at, row.updated_at
        await self._insert_lists(row.id, mailing.list_ids)
        return mailing

    async def update(self, mailing: Mailing) -> None:
        stmt = (
            update(MailingRow)
            .where(MailingRow.id == mailing.id)
            .values(**_columns(mailing))
            .returning(MailingRow.updated_at)
            .execution_options(synchronize_session=False)
        )
        with unique_name(mailing.name):
            updated_at = (await self._session.execute(stmt)).scalar_one_or_none()
        if updated_at is None or mailing.id is None:
            raise NotFound("error-not-found", mailing_id=mailing.id)
        mailing.updated_at = updated_at
        await self._session.execute(
            delete(MailingListRow).where(MailingListRow.mailing_id == mailing.id)
        )
        await self._insert_lists(mailing.id, mailing.list_ids)

    async def delete(self, mailing_id: int) -> None:
        """Its runs go with it (ON DELETE CASCADE), their deliveries here: ``deliveries``
        has no foreign key to runs (it cost every snapshot a trigger per recipient)."""
        runs = select(MailingRunRow.id).where(MailingRunRow.mailing_id == mailing_id)
        await execute_dml(
            self._session,
            delete(DeliveryRow)
            .where(DeliveryRow.run_id.in_(runs))
            .execution_options(synchronize_session=False),
        )
        stmt = delete(MailingRow).where(MailingRow.id == mailing_id)
        await execute_dml(self._session, stmt.execution_options(synchronize_session=False))

    async def search(
        self,
        *,
        owner_id: int | None,
        status: MailingStatus | None,
        page: int,
        size: int,
        include_archived: bool = False,
    ) -> Page[Mailing]:
        stmt = select(MailingRow).order_by(MailingRow.created_at.desc(), MailingRow.id.desc())
        if owner_id is not None:
            stmt = stmt.where(MailingRow.owner_id == owner_id)
        if status is not None:
            stmt = stmt.where(MailingRow.status == status.value)
        if not include_archived:
            stmt = stmt.where(MailingRow.archived_at.is_(None))
        found = await fetch_page(self._session, stmt, page, size, to_mailing)
        lists = await self._list_ids([m.id for m in found.items if m.id is not None])
        for mailing in found.items:
            mailing.list_ids = sorted(lists[mailing.id]) if mailing.id is not None else []
        return found

    async def using_list(self, list_id: int, statuses: Sequence[MailingStatus]) -> list[Mailing]:
        """Mailings (not archived) that target ``list_id`` and are in one of ``statuses``."""
        stmt = (
            select(MailingRow)
            .join(MailingListRow, MailingListRow.mailing_id == MailingRow.id)
            .where(
                MailingListRow.list_id == list_id,
                MailingRow.status.in_([s.value for s in statuses]),
                MailingRow.archived_at.is_(None),
            )
            .order_by(MailingRow.id)
        )
        return [to_mailing(row) for row in await self._session.scalars(stmt)]

    async def name_taken(self, owner_id: int, name: str, exclude_id: int | None = None) -> bool:
        """Archived mailings free their names."""
        clash = select(MailingRow.id).where(
            MailingRow.owner_id == owner_id,
            MailingRow.name == name,
            MailingRow.archived_at.is_(None),
        )
        if exclude_id is not None:
            clash = clash.where(MailingRow.id != exclude_id)
        return bool((await self._session.execute(select(exists(clash)))).scalar_one())

    async def _list_ids(self, mailing_ids: list[int]) -> defaultdict[int, list[int]]:
        found: defaultdict[int, list[int]] = defaultdict(list)
        if mailing_ids:
            stmt = select(MailingListRow.mailing_id, MailingListRow.list_id).where(
                MailingListRow.mailing_id.in_(mailing_ids)
            )
            for mailing_id, list_id in await self._session.execute(stmt):
                found[mailing_id].append(list_id)
        return found

    async def _insert_lists(self, mailing_id: int, list_ids: Iterable[int]) -> None:
        rows = [
            {"mailing_id": mailing_id, "list_id": list_id} for list_id in dict.fromkeys(list_ids)
        ]
        if rows:
            await self._session.execute(insert(MailingListRow), rows)
