"""Event webhooks: admins register, list, test and delete endpoints; use cases emit
events into the outbox in their own transactions; ``HookSender`` sends what is due.

Rules (what is signed, ids, retries) are in ``domain.webhooks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.backoff import short_error
from domain.clock import Clock
from domain.errors import AccessDenied, DomainError, InvalidInput, NotFound
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.ports.webhooks import WebhookPoster
from domain.usecases.access import record, require_staff
from domain.webhooks import (
    SUBSCRIBABLE,
    URL_MAX,
    Answer,
    Claimed,
    Endpoint,
    EndpointHealth,
    Event,
    RetrySchedule,
    fan_out,
    headers,
    new_secret,
    outcome,
    parse_events,
    ping,
)

log = logging.getLogger(__name__)
FAILURES_SHOWN = 5


async def _require_admin(uow: UnitOfWork, actor_id: int) -> None:
    actor = await require_staff(uow, actor_id)
    if not actor.is_admin:
        raise AccessDenied("api-admins-only")


async def add_endpoint(
    uow_factory: UnitOfWorkFactory,
    poster: WebhookPoster,
    actor_id: int,
    url: str,
    events: Sequence[str] | None = None,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (shown once). The URL passes the same
    checks as a list's link: http(s), no credentials, a public address."""
    try:
        wanted = parse_events(events)
    except ValueError as error:
        raise InvalidInput("hooks-unknown-event", event=str(error), known=_known()) from None
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
    if len(url.strip()) > URL_MAX:
        raise InvalidInput("hooks-bad-url")
    try:
        clean = await poster.check(url.strip())
    except DomainError as error:  # not http(s), a private address…: the input is wrong
        key = "hooks-bad-url" if error.key == "fetch-bad-url" else error.key
        raise InvalidInput(key, **error.params) from None
    secret = new_secret()
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        endpoint = await uow.webhooks.add(Endpoint(clean, secret, wanted, actor_id))
        events_text = ",".join(sorted(e.value for e in wanted))
        await record(
            uow, actor_id, "webhook.add", ("webhook", endpoint.id), {"events": events_text}
        )
        await uow.commit()
    return endpoint, secret


def _known() -> str:
    return ", ".join(e.value for e in SUBSCRIBABLE)


async def list_endpoints(uow_factory: UnitOfWorkFactory, actor_id: int) -> list[EndpointHealth]:
    """Every endpoint with its pending count and latest failures."""
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        found = []
        for endpoint in await uow.webhooks.all():
            assert endpoint.id is not None
            health = await uow.webhooks.health(endpoint.id, FAILURES_SHOWN)
            if health is not None:
                found.append(health)
        return found


async def endpoint_health(
    uow_factory: UnitOfWorkFactory, actor_id: int, endpoint_id: int
) -> EndpointHealth:
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        health = await uow.webhooks.health(endpoint_id, FAILURES_SHOWN)
    if health is None:
        raise NotFound("hooks-not-found")
    return health


async def delete_endpoint(uow_factory: UnitOfWorkFactory, actor_id: int, endpoint_id: int) -> None:
    """Gone with its outbox: nothing more is sent to it."""
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        if not await uow.webhooks.delete(endpoint_id):
            raise NotFound("hooks-not-found")
        await record(uow, actor_id, "webhook.delete", ("webhook", endpoint_id))
        await uow.commit()


async def try_endpoint(
    uow_factory: UnitOfWorkFactory,
    poster: WebhookPoster,
    actor_id: int,
    endpoint_id: int,
    now: datetime,
) -> Answer:
    """A signed ``webhook.test`` event POSTed now (not through the outbox, not retried):
    the receiver's answer, for the admin to see at once."""
    async with uow_factory() as uow:
        await _require_admin(uow, actor_id)
        endpoint = await uow.webhooks.get(endpoint_id)
    if endpoint is None or endpoint.id is None:
        raise NotFound("hooks-not-found")
    event = ping(endpoint.id, now)
    body = event.body().encode()
    return await poster.post(
        endpoint.url, body, headers(event.id, event.type, body, endpoint.secret, now)
    )


# -- emitting ---------------------------------------------------------------------------


async def emit(uow: UnitOfWork, events: Sequence[Event]) -> int:
    """Into the outbox of every endpoint that wants them, in the caller's transaction
    (one read of the endpoints, one write, whatever the number of events). How many
    outbox rows were added."""
    if not events:
        return 0
    endpoints = await uow.webhooks.subscribed(frozenset(e.type for e in events))
    if not endpoints:
        return 0
    return await uow.webhooks.enqueue(fan_out(events, endpoints))


async def emit_now(uow_factory: UnitOfWorkFactory, events: Sequence[Event]) -> int:
    """``emit`` in a transaction of its own (events of work that committed elsewhere)."""
    if not events:
        return 0
    async with uow_factory() as uow:
        added = await emit(uow, events)
        if added:
            await uow.commit()
    return added


# -- sending ----------------------------------------------------------------------------


@dataclass
class HookSender:
    """Sends due outbox rows, ``concurrency`` at a time; each attempt's outcome is stored
    at once. A sender that dies mid-send leaves its rows to come back after ``lease``."""

    uow_factory: UnitOfWorkFactory
    poster: WebhookPoster
    clock: Clock
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 50
    concurrency: int = 8

    async def run_once(self) -> int:
        """One claim's rows sent and recorded; how many (0: nothing due)."""
        async with self.uow_factory() as uow:
            claimed = await uow.webhooks.claim(self.clock.now(), self.lease, self.batch)
            await uow.commit()
        if claimed:
            slots = asyncio.Semaphore(self.concurrency)
            await asyncio.gather(*(self._send(one, slots) for one in claimed))
        return len(claimed)

    async def _send(self, claimed: Claimed, slots: asyncio.Semaphore) -> None:
        item = claimed.item
        body = item.body.encode()
        async with slots:
            sent_at = self.clock.now()
            hdrs = headers(item.event_id, item.event_type, body, claimed.secret, sent_at)
            try:
                answer = await self.poster.post(claimed.url, body, hdrs)
            except Exception as exc:  # one receiver never stops the others
                answer = Answer(None, short_error(exc))
        outcome(item, answer, self.clock.now(), self.schedule)
        async with self.uow_factory() as uow:
            await uow.webhooks.record(item)
            await uow.commit()
        if not answer.ok:
            log.info(
                "Webhook %s of event %s to endpoint %s: %s (attempt %d, %s)",
                item.id,
                item.event_type.value,
                item.endpoint_id,
                item.last_error,
                item.attempts,
                item.status.value,
            )

    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Until ``stop``: send what is due, rest ``idle`` seconds when nothing is. A
        database outage is waited out (logged), never fatal."""
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception as exc:
                log.warning("Webhook sender: %s; trying again", short_error(exc))
                sent = 0
            if sent < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle)
