"""Runs: one launch of a mailing, with its status and counts per delivery status."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from bot.api.context import Caller, Context
from domain.runs import MailingRun, RunStatus
from domain.usecases.runs_view import run_of, runs_of

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
async def one_run(run_id: int, user: Caller, ctx: Context) -> RunOut:
    return run_out(await run_of(ctx.uow_factory, user.telegram_id, run_id))


@router.get("/mailings/{mailing_id}/runs", summary="A mailing's runs, newest first")
async def mailing_runs(mailing_id: int, user: Caller, ctx: Context) -> list[RunOut]:
    return [run_out(r) for r in await runs_of(ctx.uow_factory, user.telegram_id, mailing_id)]
