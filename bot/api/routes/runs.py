"""Runs: one launch of a mailing, with its status and counts per delivery status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.api.context import Caller, Context, Secret
from domain.api_tokens import hash_secret
from domain.errors import NotFound
from domain.runs import DeliveryStatus, MailingRun, RunStatus
from domain.usecases.runs_view import DELIVERIES_LIMIT, deliveries_of, run_for_token, runs_of

router = APIRouter(tags=["runs"])


class Totals(BaseModel):
    total: int
    pending: int
    delivered: int
    failed: int
    refused: int


class RunOut(BaseModel):
    id: int
    mailing_id: int
    status: RunStatus
    is_test: bool
    totals: Totals
    scheduled_for: datetime
    started_at: datetime | None
    finished_at: datetime | None
    problem: str | None


def run_out(run: MailingRun) -> RunOut:
    assert run.id is not None
    totals = run.totals
    return RunOut(
        id=run.id,
        mailing_id=run.mailing_id,
        status=run.status,
        is_test=run.is_test,
        totals=Totals(
            total=totals.total,
            pending=totals.pending + totals.sending,
            delivered=totals.delivered,
            failed=totals.failed,
            refused=totals.refused,
        ),
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        problem=run.problem,
    )


@router.get("/runs/{run_id}", summary="A run's status and counts")
async def one_run(run_id: int, secret: Secret, ctx: Context) -> RunOut:
    """As ``Caller`` would (401, then 429, then 404), with the token checked in the
    run's own read (``run_for_token``): clients poll this while a run sends."""
    try:
        run = await run_for_token(ctx.uow_factory, ctx.runs, secret, run_id, ctx.clock.now())
    except NotFound:
        await ctx.rate_limit.check(hash_secret(secret))  # a known token: the call counts
        raise
    await ctx.rate_limit.check(hash_secret(secret))
    return run_out(run)


@router.get("/mailings/{mailing_id}/runs", summary="A mailing's runs, newest first")
async def mailing_runs(mailing_id: int, user: Caller, ctx: Context) -> list[RunOut]:
    return [run_out(r) for r in await runs_of(ctx.uow_factory, user.telegram_id, mailing_id)]


class DeliveryOut(BaseModel):
    id: int
    address: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    updated_at: datetime | None
    opened_at: datetime | None
    clicks: int
    bounce: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None  # pass it back as ``cursor``; None: no more rows


@router.get(
    "/runs/{run_id}/deliveries",
    summary="A run's recipients by delivery id; the cursor stays valid while it sends",
)
async def run_deliveries(
    run_id: int,
    user: Caller,
    ctx: Context,
    status: DeliveryStatus | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,19}$")] = None,
    limit: Annotated[int, Query(ge=1, le=DELIVERIES_LIMIT)] = 100,
) -> DeliveryPage:
    rows = await deliveries_of(
        ctx.uow_factory, ctx.services.stats, user.telegram_id, run_id,
        after_id=int(cursor or 0), limit=limit, status=status,
    )  # fmt: skip
    items = [
        DeliveryOut(
            id=r.delivery_id,
            address=r.address,
            status=DeliveryStatus(r.status),
            attempts=r.attempts,
            last_error=r.last_error,
            updated_at=r.updated_at,
            opened_at=r.opened_at,
            clicks=r.clicks,
            bounce=r.bounce,
        )
        for r in rows
    ]
    following = str(rows[-1].delivery_id) if len(rows) == limit else None
    return DeliveryPage(items=items, next_cursor=following)
