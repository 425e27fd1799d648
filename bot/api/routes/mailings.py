"""Mailings: the bot's drafts, edits, preview, launch (idempotent), pause, resume, cancel
and test send. A manager sees only their own mailings (someone else's is a 404, as in the
bot); an admin sees everyone's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from bot.api.context import ApiContext, Caller, Context
from bot.api.problems import text_of
from bot.api.routes.runs import RunOut, run_out
from domain.buttons import url_buttons
from domain.idempotency import request_hash
from domain.mailings import Channel, Mailing, MailingStatus
from domain.usecases import launch as launches
from domain.usecases import mailings
from domain.usecases import preview as previews
from domain.usecases.launch import Launcher
from domain.usecases.launch_once import launch_once

router = APIRouter(tags=["mailings"])


class Button(BaseModel):
    text: str = Field(description="The label (cut to 64 characters)")
    url: str = Field(description="http(s):// or tg:// link")


BUTTONS = (
    "Telegram: URL buttons under the message, rows of at most 4, at most 8 rows"
    " (the bot's rules); [] removes them"
)


class MailingIn(BaseModel):
    name: str = Field(min_length=1, max_length=mailings.NAME_MAX)
    channel: Channel
    subject: str | None = Field(default=None, max_length=mailings.SUBJECT_MAX)
    text: str = Field(
        min_length=1, description="Telegram HTML with {{ placeholders }} from list columns"
    )
    list_ids: list[int] = Field(default_factory=list, max_length=100)
    fast: bool = Field(default=False, description="Telegram: paid broadcasts (0.1 Star each)")
    buttons: list[list[Button]] | None = Field(default=None, description=BUTTONS)


class MailingPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=mailings.NAME_MAX)
    channel: Channel | None = None
    subject: str | None = Field(default=None, max_length=mailings.SUBJECT_MAX)
    text: str | None = Field(default=None, min_length=1)
    list_ids: list[int] | None = Field(default=None, max_length=100)
    fast: bool | None = None
    buttons: list[list[Button]] | None = Field(default=None, description=BUTTONS)


class MailingOut(BaseModel):
    id: int
    owner_id: int
    name: str
    channel: Channel
    status: MailingStatus
    subject: str | None
    text: str
    list_ids: list[int]
    fast: bool
    buttons: list[list[Button]]
    created_at: datetime | None
    updated_at: datetime | None


class MailingPage(BaseModel):
    items: list[MailingOut]
    next_cursor: str | None


class Notice(BaseModel):
    code: str
    message: str
    blocking: bool


class PreviewOut(BaseModel):
    can_launch: bool
    subject: str | None
    text: str
    reachable: int
    suppressed: int
    other_kinds: int
    warnings: list[Notice]


class TestIn(BaseModel):
    address: str | None = Field(
        default=None, description="Email channels: where the test goes (Telegram: your chat)"
    )


def mailing_out(m: Mailing) -> MailingOut:
    assert m.id is not None
    return MailingOut(
        id=m.id,
        owner_id=m.owner_id,
        name=m.name,
        channel=m.channel,
        status=m.status,
        subject=m.subject,
        text=m.body,
        list_ids=list(m.list_ids),
        fast=m.fast,
        buttons=[
            [Button(text=b.text, url=b.url) for b in row]
            for row in url_buttons(m.options.get("buttons"))
        ],
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def _changes(body: BaseModel, options: dict[str, Any]) -> dict[str, Any]:
    """The use case's changes; ``options``: the mailing's, which buttons are part of
    (checked by ``mailings.update`` with the bot's rules)."""
    changes = body.model_dump(exclude_unset=True)
    if "text" in changes:
        changes["body"] = changes.pop("text")
    if changes.get("buttons") is not None:
        changes["options"] = {**options, "buttons": changes["buttons"]}
    changes.pop("buttons", None)
    return {k: v for k, v in changes.items() if v is not None or k == "subject"}


@router.get("/mailings", summary="Your mailings (an admin's: everyone's), newest first")
async def all_mailings(
    user: Caller,
    ctx: Context,
    status: MailingStatus | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,6}$")] = None,
) -> MailingPage:
    page = await mailings.browse(ctx.uow_factory, user.telegram_id, int(cursor or 0), status)
    following = str(page.page + 1) if page.has_next else None
    return MailingPage(items=[mailing_out(m) for m in page.items], next_cursor=following)


@router.post("/mailings", status_code=201, summary="Make a mailing (a draft)")
async def create_mailing(body: MailingIn, user: Caller, ctx: Context) -> MailingOut:
    services = ctx.services
    changes = _changes(body, {})  # a new mailing has no options yet
    name = changes.pop("name")
    made = await mailings.create_draft(
        services.uow_factory, user.telegram_id, name, services.timezone, **changes
    )
    return mailing_out(made)


@router.get("/mailings/{mailing_id}", summary="One mailing")
async def one_mailing(mailing_id: int, user: Caller, ctx: Context) -> MailingOut:
    return mailing_out(await mailings.get(ctx.uow_factory, user.telegram_id, mailing_id))


@router.patch("/mailings/{mailing_id}", summary="Change a draft or scheduled mailing")
async def edit_mailing(
    mailing_id: int, body: MailingPatch, user: Caller, ctx: Context
) -> MailingOut:
    uid = user.telegram_id
    current = await mailings.get(ctx.uow_factory, uid, mailing_id)
    changed = await mailings.update(
        ctx.uow_factory, uid, mailing_id, **_changes(body, current.options)
    )
    return mailing_out(changed)


@router.delete(
    "/mailings/{mailing_id}",
    status_code=204,
    summary="Delete a mailing (one that ran is archived; a running one must be cancelled)",
)
async def delete_mailing(mailing_id: int, user: Caller, ctx: Context) -> Response:
    await mailings.delete(ctx.uow_factory, user.telegram_id, mailing_id, ctx.clock)
    return Response(status_code=204)


@router.post("/mailings/{mailing_id}/preview", summary="The bot's preview: checks, warnings")
async def preview(mailing_id: int, request: Request, user: Caller, ctx: Context) -> PreviewOut:
    s = ctx.services
    check = await previews.build(
        s.uow_factory, s.renderer, user.telegram_id, mailing_id, s.available_channels,
        s.paid_broadcasts,
    )  # fmt: skip
    return PreviewOut(
        can_launch=check.can_launch,
        subject=check.subject,
        text=check.body,
        reachable=check.audience.reachable,
        suppressed=check.audience.suppressed,
        other_kinds=check.audience.other_kinds,
        warnings=[
            Notice(code=w.key, message=text_of(request, w.key, w.params), blocking=w.blocking)
            for w in check.warnings
        ],
    )


def _launcher(ctx: ApiContext) -> Launcher:
    s = ctx.services
    return Launcher(s.delivery_queue, s.renderer, s.available_channels, s.paid_broadcasts)


@router.post(
    "/mailings/{mailing_id}/launch",
    status_code=201,
    summary="Launch now; with Idempotency-Key a repeat returns the same run (200)",
)
async def launch(
    mailing_id: int,
    request: Request,
    response: Response,
    user: Caller,
    ctx: Context,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> RunOut:
    uid = user.telegram_id
    if idempotency_key is None:
        order = launches.LaunchOrder(mailing_id, launches.LaunchKind.now, actor_id=uid)
        run = await launches.start(ctx.uow_factory, _launcher(ctx), order, ctx.clock)
    else:
        fingerprint = request_hash(request.method, request.url.path, await request.body())
        run, made = await launch_once(
            ctx.uow_factory,
            _launcher(ctx),
            actor_id=uid,
            mailing_id=mailing_id,
            key=idempotency_key,
            request_hash=fingerprint,
            clock=ctx.clock,
        )
        if not made:
            response.status_code = 200
    return run_out(run)


@router.post("/mailings/{mailing_id}/pause", summary="Pause the current run")
async def pause(mailing_id: int, user: Caller, ctx: Context) -> RunOut:
    uid = user.telegram_id
    run = await launches.set_paused(
        ctx.uow_factory, actor_id=uid, mailing_id=mailing_id, paused=True
    )
    return run_out(run)


@router.post("/mailings/{mailing_id}/resume", summary="Resume the current run")
async def resume(mailing_id: int, user: Caller, ctx: Context) -> RunOut:
    uid = user.telegram_id
    run = await launches.set_paused(
        ctx.uow_factory, actor_id=uid, mailing_id=mailing_id, paused=False
    )
    return run_out(run)


@router.post("/mailings/{mailing_id}/cancel", summary="Stop for good (or unschedule)")
async def cancel(mailing_id: int, user: Caller, ctx: Context) -> RunOut | None:
    run = await launches.cancel(
        ctx.uow_factory, actor_id=user.telegram_id, mailing_id=mailing_id, clock=ctx.clock
    )
    return None if run is None else run_out(run)


@router.post(
    "/mailings/{mailing_id}/test", status_code=201, summary="Send one test message to yourself"
)
async def test_send(mailing_id: int, body: TestIn, user: Caller, ctx: Context) -> RunOut:
    s = ctx.services
    run = await launches.send_test(
        s.uow_factory, s.delivery_queue, s.renderer, actor_id=user.telegram_id,
        mailing_id=mailing_id, available=s.available_channels, email=body.address,
        clock=s.clock,
    )  # fmt: skip
    return run_out(run)
