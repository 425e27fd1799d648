"""Event webhooks (admins): endpoints that receive signed POSTs of run, delivery and
unsubscribe events (``domain.webhooks``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from bot.api.context import Caller, Context
from bot.api.problems import Problem
from domain.ports.webhooks import WebhookPoster
from domain.usecases import webhooks as hooks
from domain.webhooks import URL_MAX, EndpointHealth, EventType, OutboxItem

router = APIRouter(tags=["webhooks"])


class EndpointIn(BaseModel):
    url: str = Field(min_length=1, max_length=URL_MAX, description="An http(s) URL")
    events: list[EventType] | None = Field(
        default=None,
        description="Events to receive (all when left out); webhook.test is sent only by /test",
    )


class FailureOut(BaseModel):
    event_id: str
    event: EventType
    status: str  # pending: another attempt follows at next_attempt_at; failed: given up
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None


class EndpointOut(BaseModel):
    id: int
    url: str
    events: list[EventType]
    created_at: datetime | None
    pending: int
    failures: list[FailureOut]


class EndpointMade(EndpointOut):
    secret: str = Field(description="Signs every POST; shown only in this answer")


class TestOut(BaseModel):
    ok: bool
    status: int | None
    error: str | None


def _failure(item: OutboxItem) -> FailureOut:
    waiting = item.status.value == "pending"
    return FailureOut(
        event_id=item.event_id,
        event=item.event_type,
        status=item.status.value,
        attempts=item.attempts,
        last_status=item.last_status,
        last_error=item.last_error,
        next_attempt_at=item.next_at if waiting else None,
    )


def endpoint_out(health: EndpointHealth) -> EndpointOut:
    endpoint = health.endpoint
    assert endpoint.id is not None
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=sorted(endpoint.events),
        created_at=endpoint.created_at,
        pending=health.pending,
        failures=[_failure(item) for item in health.failures],
    )


def _poster(ctx: Context) -> WebhookPoster:
    if ctx.services.hooks is None:
        raise Problem(503, "hooks-not-available")
    return ctx.services.hooks


@router.get("/webhooks", summary="Event webhook endpoints with their recent failures (admins)")
async def list_all(user: Caller, ctx: Context) -> list[EndpointOut]:
    found = await hooks.list_endpoints(ctx.uow_factory, user.telegram_id)
    return [endpoint_out(health) for health in found]


@router.post(
    "/webhooks",
    status_code=201,
    summary="Register an endpoint (admins); its signing secret is shown only here",
)
async def add(body: EndpointIn, user: Caller, ctx: Context) -> EndpointMade:
    names = [event.value for event in body.events] if body.events else None
    endpoint, secret = await hooks.add_endpoint(
        ctx.uow_factory, _poster(ctx), user.telegram_id, body.url, names
    )
    assert endpoint.id is not None
    health = await hooks.endpoint_health(ctx.uow_factory, user.telegram_id, endpoint.id)
    return EndpointMade(**endpoint_out(health).model_dump(), secret=secret)


@router.get("/webhooks/{endpoint_id}", summary="One endpoint and its recent failures (admins)")
async def get(endpoint_id: int, user: Caller, ctx: Context) -> EndpointOut:
    health = await hooks.endpoint_health(ctx.uow_factory, user.telegram_id, endpoint_id)
    return endpoint_out(health)


@router.delete(
    "/webhooks/{endpoint_id}",
    status_code=204,
    summary="Delete an endpoint and its undelivered events (admins)",
)
async def delete(endpoint_id: int, user: Caller, ctx: Context) -> Response:
    await hooks.delete_endpoint(ctx.uow_factory, user.telegram_id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{endpoint_id}/test",
    summary="POST a signed webhook.test event now and tell the receiver's answer (admins)",
)
async def test(endpoint_id: int, user: Caller, ctx: Context) -> TestOut:
    answer = await hooks.try_endpoint(
        ctx.uow_factory, _poster(ctx), user.telegram_id, endpoint_id, ctx.clock.now()
    )
    return TestOut(ok=answer.ok, status=answer.status, error=answer.error)
