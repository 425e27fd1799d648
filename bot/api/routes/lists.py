"""Recipient lists and their members: the bot's list use cases over HTTP.

As in the bot, lists are shared by the team: any member of staff may read them and change
their members; renaming and deleting are the owner's (or an admin's).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from pydantic import BaseModel, Field

from bot.api.context import Caller, Context
from bot.api.problems import Problem, text_of
from domain.errors import DomainError, NotFound
from domain.imports import ImportReport, ImportSource, RejectedRow
from domain.members import MAX_MEMBERS_PER_CALL, MemberInput, MembersReport
from domain.recipients import ListSourceKind
from domain.usecases import lists
from domain.usecases.list_members import upsert_members

router = APIRouter(tags=["lists"])
Scalar = str | int | float | bool


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=lists.NAME_MAX)


class ListOut(BaseModel):
    id: int
    name: str
    owner_id: int
    source: ListSourceKind
    members: int
    emails: int
    telegram: int
    suppressed: int


class MemberIn(BaseModel):
    email: str | None = Field(default=None, max_length=320)
    telegram_id: int | str | None = None
    name: str | None = Field(default=None, max_length=256)
    fields: dict[str, Scalar | None] = Field(default_factory=dict, max_length=100)


class MembersIn(BaseModel):
    members: list[MemberIn] = Field(min_length=1, max_length=MAX_MEMBERS_PER_CALL)


class Rejected(BaseModel):
    index: int
    reason: str
    message: str


class MembersOut(BaseModel):
    added: int
    updated: int
    suppressed: int
    rejected: list[Rejected]


def _out(view: lists.ListView) -> ListOut:
    rlist, size = view.rlist, view.size
    assert rlist.id is not None
    return ListOut(
        id=rlist.id,
        name=rlist.name,
        owner_id=rlist.owner_id,
        source=rlist.source_kind,
        members=size.total,
        emails=size.email,
        telegram=size.telegram,
        suppressed=size.suppressed,
    )


@router.get("/lists", summary="Every list of the team")
async def all_lists(user: Caller, ctx: Context) -> list[ListOut]:
    return [_out(v) for v in await lists.overview(ctx.uow_factory, user.telegram_id)]


@router.post("/lists", status_code=201, summary="Make a list")
async def create_list(body: ListIn, user: Caller, ctx: Context) -> ListOut:
    rlist = await lists.create(ctx.uow_factory, user.telegram_id, body.name)
    assert rlist.id is not None
    return _out(await lists.view(ctx.uow_factory, user.telegram_id, rlist.id))


@router.get("/lists/{list_id}", summary="One list with its size")
async def one_list(list_id: int, user: Caller, ctx: Context) -> ListOut:
    return _out(await lists.view(ctx.uow_factory, user.telegram_id, list_id))


@router.patch("/lists/{list_id}", summary="Rename a list (its owner or an admin)")
async def rename_list(list_id: int, body: ListIn, user: Caller, ctx: Context) -> ListOut:
    await lists.rename(ctx.uow_factory, user.telegram_id, list_id, body.name)
    return _out(await lists.view(ctx.uow_factory, user.telegram_id, list_id))


@router.delete("/lists/{list_id}", status_code=204, summary="Delete a list (owner or admin)")
async def delete_list(list_id: int, user: Caller, ctx: Context) -> Response:
    await lists.delete(ctx.uow_factory, user.telegram_id, list_id)
    return Response(status_code=204)


@router.post(
    "/lists/{list_id}/members",
    summary=f"Upsert up to {MAX_MEMBERS_PER_CALL:,} members in one transaction",
)
async def push_members(
    list_id: int, body: MembersIn, request: Request, user: Caller, ctx: Context
) -> MembersOut:
    members = [
        MemberInput(
            email=m.email,
            telegram_id=None if m.telegram_id is None else str(m.telegram_id),
            name=m.name,
            fields={k: _text(v) for k, v in m.fields.items()},
        )
        for m in body.members
    ]
    try:
        report = await upsert_members(
            ctx.uow_factory, ctx.members, user.telegram_id, list_id, members
        )
    except DomainError as error:
        failed = error.params.get("report")
        if not isinstance(failed, MembersReport):
            raise
        rejected = [r.model_dump() for r in _members_out(request, failed).rejected]
        raise Problem(422, "members-all-invalid", extra={"rejected": rejected}) from None
    return _members_out(request, report)


def _text(value: Scalar | None) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _members_out(request: Request, report: MembersReport) -> MembersOut:
    rejected = [
        Rejected(index=r.index, reason=r.reason, message=text_of(request, r.reason))
        for r in report.rejected
    ]
    return MembersOut(
        added=report.added,
        updated=report.updated,
        suppressed=report.suppressed,
        rejected=rejected,
    )


@router.delete(
    "/lists/{list_id}/members/{address}",
    status_code=204,
    summary="Remove an address (email or Telegram chat id) from a list",
)
async def remove_member(list_id: int, address: str, user: Caller, ctx: Context) -> Response:
    services = ctx.services
    _, removed = await lists.remove_address(
        services.uow_factory, services.address_parser, user.telegram_id, list_id, address
    )
    if not removed:
        raise NotFound("members-not-a-member")
    return Response(status_code=204)


@router.post("/lists/{list_id}/import", summary="Import a CSV, XLSX or TXT file (multipart)")
async def import_file(
    list_id: int,
    file: Annotated[UploadFile, File(description="CSV, XLSX or TXT, as for the bot")],
    request: Request,
    user: Caller,
    ctx: Context,
) -> dict[str, Any]:
    services = ctx.services
    with tempfile.TemporaryDirectory(prefix="mailforge-api-") as folder:
        name = Path(file.filename or "upload.csv").name
        path = Path(folder) / f"upload{Path(name).suffix}"
        with path.open("wb") as target:
            while chunk := await file.read(1024 * 1024):
                target.write(chunk)
        source = ImportSource(path, name)
        try:
            report = await lists.import_file(
                services.uow_factory,
                services.importer,
                user.telegram_id,
                list_id,
                source,
                source_kind=ListSourceKind.file,
                source_ref=None,
            )
        except DomainError as error:
            failed = error.params.get("report")
            if error.key != "import-all-invalid" or not isinstance(failed, ImportReport):
                raise
            params = {k: v for k, v in error.params.items() if k != "report"}
            extra = {"report": _report(request, failed)}
            raise Problem(422, error.key, extra=extra, **params) from None
        return _report(request, report)


def _report(request: Request, report: ImportReport) -> dict[str, Any]:
    """The bot's import report: counts, the first rejected rows, extra columns."""
    return {
        "rows": report.rows,
        "added": report.added,
        "already_there": report.already_there,
        "duplicates": report.duplicates,
        "invalid": report.invalid,
        "suppressed": report.suppressed,
        "attributes": report.attributes,
        "kinds": {kind.value: count for kind, count in report.kinds.items()},
        "rejected_sample": [
            {
                "line": r.line,
                "row": r.raw,
                "reason": r.reason,
                "message": text_of(request, r.reason),
            }
            for r in report.sample
        ],
    }


def _rejected_row(request: Request, row: RejectedRow) -> dict[str, Any]:
    message = text_of(request, row.reason)
    return {"line": row.line, "row": row.raw, "reason": row.reason, "message": message}
