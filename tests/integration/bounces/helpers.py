"""A run of real-world email recipients, all delivered, for the bounce and tracking tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.bounces import Verp
from domain.delivery import Outcome, SendResult
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.signing import Signer
from infrastructure.db.queue import SqlDeliveryQueue
from tests.integration.db.test_queue import POLICY, T0, add_run

SAMPLES = Path(__file__).parents[2] / "data" / "bounces"
SECRET = b"bounce-test-secret"
VERP = Verp(Signer(SECRET), "bounces@news.example.com")
# The recipient each real-world sample is about.
RECIPIENTS = {
    "postfix_user_unknown.eml": "olga.smirnova@corp-example.ru",
    "exim_no_such_user.eml": "pavel@shop-example.com",
    "yandex_no_such_user.eml": "dmitry.kuznetsov@yandex.ru",
    "gmail_over_quota.eml": "maria.ivanova@gmail.com",
    "mailru_mailbox_full.eml": "anna.volkova@mail.ru",
    "arf_complaint.eml": "sergey.popov@mail.ru",
    "autoreply_out_of_office.eml": "elena.morozova@corp-example.ru",
    "malformed_no_boundary.eml": "elena.morozova@corp-example.ru",
}


async def delivered_run(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, values: list[str], slot: datetime = T0
) -> tuple[int, dict[str, int]]:
    """A run whose every recipient was delivered; its delivery ids by address. Each
    ``slot`` makes a mailing of its own (runs in a row: a later slot, a later run)."""
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"bounce test {slot.isoformat()}", 1))
        assert rlist.id is not None
        ids = []
        for value in values:
            address = await uow.addresses.upsert(Address(AddressKind.email, value, {}))
            assert address.id is not None
            ids.append(address.id)
        await uow.members.add_members(rlist.id, ids)
        await uow.commit()
    run_id = await add_run(uow_factory, slot=slot)
    queue = SqlDeliveryQueue(engine)
    await queue.snapshot(run_id, [rlist.id], [AddressKind.email])
    batch = await queue.claim(len(values), T0)
    await queue.complete([SendResult(o.delivery_id, Outcome.delivered) for o in batch], T0, POLICY)
    return run_id, {o.value: o.delivery_id for o in batch}


def sample(name: str, delivery_id: int | None) -> bytes:
    raw = (SAMPLES / name).read_bytes()
    if delivery_id is not None:
        raw = raw.replace(b"@@VERP@@", VERP.address(delivery_id).encode())
    return raw


async def table(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(text(sql), params)]


async def address_state(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    rows = await table(
        engine,
        "SELECT value, refused_at, unsubscribed_at, soft_bounces, soft_bounce_run_id"
        " FROM addresses",
    )
    return {row["value"]: row for row in rows}


async def delivery_state(engine: AsyncEngine, run_id: int) -> dict[int, dict[str, Any]]:
    rows = await table(
        engine, "SELECT id, status, last_error FROM deliveries WHERE run_id = :r", r=run_id
    )
    return {row["id"]: row for row in rows}
