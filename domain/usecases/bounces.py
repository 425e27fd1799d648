"""What a classified bounce does to deliveries, addresses and run totals.

Each message is recorded once (by a digest of its bytes) before anything else happens,
in the same transaction: a second read after a restart finds it and changes nothing.

- hard: a delivered delivery becomes refused with the reason, its run's totals move from
  delivered to refused ("of which bounced later"), and the address is suppressed.
- soft: the reason is kept on the delivery; the address counts one more soft bounce in a
  row (``domain.bounces.next_soft_streak``: once per mailing run; a mail that got through
  in between, an open or a click start the count again), and ``soft_limit`` of them in a
  row suppress it.
- complaint: the address is unsubscribed everywhere.
- not a bounce, unknown or forged token, malformed: recorded and counted, nothing else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain import webhooks
from domain.bounces import ACTIONABLE, BounceKind, BounceReport, next_soft_streak
from domain.engagement import DeliveryRef
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.usecases.webhooks import emit

log = logging.getLogger(__name__)
UNUSABLE = {
    BounceKind.unknown: "a bounce whose VERP token is missing, forged or names no delivery",
    BounceKind.malformed: "not a readable message",
}


@dataclass(frozen=True, slots=True)
class BounceOutcome:
    kind: BounceKind
    counted: bool  # False: this very message was processed before
    suppressed: bool = False


async def apply_bounce(
    uow_factory: UnitOfWorkFactory, report: BounceReport, now: datetime, *, soft_limit: int
) -> BounceOutcome:
    async with uow_factory() as uow:
        target = None
        if report.kind in ACTIONABLE and report.delivery_id is not None:
            target = await uow.tracking.delivery(report.delivery_id)
        kind = report.kind if target is not None or report.kind not in ACTIONABLE else None
        if kind is None:  # a genuine token of a delivery that no longer exists
            kind = BounceKind.unknown
        recorded = BounceReport(
            report.key, kind, report.delivery_id, report.status, report.reason, report.recipient
        )
        if not await uow.bounces.record(recorded, target):
            return BounceOutcome(kind, counted=False)
        suppressed = False
        if target is not None:
            suppressed = await _act(uow, recorded, target, now, soft_limit)
        await uow.commit()
    if kind in UNUSABLE:
        log.warning(
            "Bounce mailbox: message %s is %s; nothing counted (%s)",
            report.key[:12],
            UNUSABLE[kind],
            report.reason or "no detail",
        )
    else:
        log.info(
            "Bounce mailbox: %s for delivery %s%s",
            kind.value,
            report.delivery_id,
            " (address suppressed)" if suppressed else "",
        )
    return BounceOutcome(kind, counted=True, suppressed=suppressed)


async def _act(
    uow: UnitOfWork, report: BounceReport, target: DeliveryRef, now: datetime, soft_limit: int
) -> bool:
    """What the bounce does; whether it suppressed the address."""
    reason = _reason(report)
    earlier = await uow.bounces.seen(target.delivery_id, (report.kind.value,), report.key)
    if report.kind is BounceKind.complaint:
        await uow.bounces.unsubscribe(target.address_id, now)
        if not earlier:
            await uow.tracking.add_to_run(target.run_id, complained=1)
            await _tell(uow, target, now, via="complaint")
        return False
    if report.kind is BounceKind.hard:
        if await uow.bounces.refuse(target, reason, now):
            await uow.tracking.add_to_run(target.run_id, bounced=1)
            await _tell(uow, target, now, bounce=report)
        await uow.bounces.suppress(target.address_id, now)
        return True
    await uow.bounces.note(target.delivery_id, reason)
    if earlier:
        return False
    await uow.tracking.add_to_run(target.run_id, soft_bounced=1)
    await _tell(uow, target, now, bounce=report)
    streak = await uow.bounces.soft_streak(target.address_id)
    got_through = False
    if streak.run_id is not None and streak.run_id != target.run_id:
        low, high = sorted((streak.run_id, target.run_id))
        got_through = await uow.bounces.got_through(target.address_id, low, high)
    streak = next_soft_streak(streak, target.run_id, got_through=got_through)
    await uow.bounces.set_soft_streak(target.address_id, streak)
    if streak.count >= soft_limit:
        await uow.bounces.suppress(target.address_id, now)
        return True
    return False


async def _tell(
    uow: UnitOfWork,
    target: DeliveryRef,
    now: datetime,
    *,
    bounce: BounceReport | None = None,
    via: str = "",
) -> None:
    """A bounce (``delivery.bounced``) or a complaint (``recipient.unsubscribed``) to the
    event webhooks, in the bounce's transaction."""
    address = await uow.addresses.get(target.address_id)
    if address is None:
        return
    kind, value = address.kind.value, address.value
    if bounce is None:
        event = webhooks.recipient_unsubscribed(kind, value, via, now)
    else:
        event = webhooks.delivery_bounced(
            target.run_id, target.delivery_id, kind, value, bounce.kind.value, bounce.reason, now
        )
    await emit(uow, [event])


def _reason(report: BounceReport) -> str:
    """What the manager reads in the statistics and the export."""
    label = "bounce" if report.kind is BounceKind.hard else "soft bounce"
    return f"{label}: {report.reason}" if report.reason else label
