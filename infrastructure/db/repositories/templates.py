"""Reusable message templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.templates import Template
from infrastructure.db.models import TemplateRow
from infrastructure.db.repositories._sql import execute_dml, unique_name


def to_template(row: TemplateRow) -> Template:
    return Template(
        name=row.name,
        owner_id=row.owner_id,
        body=row.body,
        subject=row.subject,
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(template: Template) -> dict[str, Any]:
    return {
        "name": template.name,
        "owner_id": template.owner_id,
        "body": template.body,
        "subject": template.subject,
    }


class SqlTemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, template_id: int) -> Template | None:
        row = await self._session.get(TemplateRow, template_id, populate_existing=True)
        return to_template(row) if row is not None else None

    async def add(self, template: Template) -> Template:
        row = TemplateRow(**_columns(template))
        self._session.add(row)
        with unique_name(template.name):
            await self._session.flush()
        template.id, template.created_at, template.updated_at = (
            row.id,
            row.created_at,
            row.updated_at,
        )
        return template

    async def update(self, template: Template) -> None:
        stmt = (
            update(TemplateRow)
            .where(TemplateRow.id == template.id)
            .values(**_columns(template))
            .execution_options(synchronize_session=False)
        )
        with unique_name(template.name):
            if not await execute_dml(self._session, stmt):
                raise NotFound("error-not-found", template_id=template.id)

    async def delete(self, template_id: int) -> None:
        stmt = delete(TemplateRow).where(TemplateRow.id == template_id)
        await execute_dml(self._session, stmt.execution_options(synchronize_session=False))

    async def all(self) -> list[Template]:
        rows = await self._session.scalars(select(TemplateRow).order_by(TemplateRow.id))
        return [to_template(row) for row in rows]
