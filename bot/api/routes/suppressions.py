"""Suppressions (admins): an address that gets no mailing until lifted."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from bot.api.context import Caller, Context
from bot.api.problems import Problem
from domain.usecases import subscribers
from domain.usecases.suppressions import suppress

router = APIRouter(tags=["suppressions"])


class SuppressionIn(BaseModel):
    address: str = Field(min_length=1, max_length=320, description="An email or a chat id")


class SuppressionOut(BaseModel):
    address: str
    kind: str
    created: bool  # False: it was suppressed already


@router.post("/suppressions", summary="Suppress an address (admins)")
async def add(
    body: SuppressionIn, user: Caller, ctx: Context, response: Response
) -> SuppressionOut:
    s = ctx.services
    kind, value = s.address_parser.parse(body.address)
    address, created = await suppress(s.uow_factory, user.telegram_id, kind, value, s.clock.now())
    response.status_code = 201 if created else 200
    return SuppressionOut(address=address.value, kind=address.kind.value, created=created)


@router.delete(
    "/suppressions/{address}",
    status_code=204,
    summary="Lift a suppression (admins); one the person asked for needs ?confirm=true",
)
async def lift(address: str, user: Caller, ctx: Context, confirm: bool = False) -> Response:
    s = ctx.services
    kind, value = s.address_parser.parse(address)
    _, outcome = await subscribers.lift_suppression(
        s.uow_factory, actor_id=user.telegram_id, kind=kind, value=value, confirmed=confirm
    )
    if outcome is subscribers.Lift.needs_confirmation:
        raise Problem(409, "api-suppression-needs-confirm")
    if outcome is subscribers.Lift.not_suppressed:
        raise Problem(404, "api-not-suppressed")
    return Response(status_code=204)
