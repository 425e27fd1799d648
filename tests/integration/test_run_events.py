"""Every run logs its start and its end, however it ends: completed by the queue or
cancelled by its manager (both backends, the real use cases)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind, RecipientList
from domain.usecases import roles
from domain.usecases.launch import cancel, finish_drained_runs, launch
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer

ADMIN = 1001


async def a_mailing(uow_factory: UnitOfWorkFactory, name: str) -> int:
    await roles.ensure_admins(uow_factory, [ADMIN])
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(f"{name} readers", ADMIN))
        ids = [
            (await uow.addresses.upsert(Address(AddressKind.telegram, str(chat)))).id or 0
            for chat in (7001, 7002)
        ]
        await uow.members.add_members(rlist.id or 0, ids)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=ADMIN,
                name=name,
                channel=Channel.telegram,
                body="Private body text",
                list_ids=[rlist.id or 0],
            )
        )
        await uow.commit()
    return mailing.id or 0


def run_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mailforge.runs"]


async def test_a_launch_logs_started_and_a_cancel_logs_finished(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    mailing_id = await a_mailing(uow_factory, "Cancelled")
    caplog.set_level(logging.INFO, logger="mailforge.runs")
    run = await launch(
        uow_factory,
        SqlDeliveryQueue(db_engine),
        JinjaRenderer(),
        actor_id=ADMIN,
        mailing_id=mailing_id,
        available=frozenset(Channel),
    )
    await cancel(uow_factory, actor_id=ADMIN, mailing_id=mailing_id)

    started, ended = run_lines(caplog)
    assert started.getMessage().startswith("Run started")
    assert (started.mailing_id, started.run_id, started.recipients) == (mailing_id, run.id, 2)  # type: ignore[attr-defined]
    assert started.channel == "telegram"  # type: ignore[attr-defined]
    assert ended.getMessage().startswith("Run finished")
    assert (ended.run_id, ended.status, ended.not_sent) == (run.id, "cancelled", 2)  # type: ignore[attr-defined]
    assert not [r for r in run_lines(caplog) if "Private body" in r.getMessage()]


async def test_a_run_the_queue_finds_complete_logs_finished_once(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    mailing_id = await a_mailing(uow_factory, "Completed")
    queue = SqlDeliveryQueue(db_engine)
    run = await launch(
        uow_factory,
        queue,
        JinjaRenderer(),
        actor_id=ADMIN,
        mailing_id=mailing_id,
        available=frozenset(Channel),
    )
    caplog.set_level(logging.INFO, logger="mailforge.runs")
    now = datetime.now(UTC)
    batch = await queue.claim(10, now)
    await queue.complete(
        [SendResult(o.delivery_id, Outcome.delivered) for o in batch], now, RetryPolicy()
    )
    await finish_drained_runs(uow_factory, now)
    assert await finish_drained_runs(uow_factory, now) == []  # nothing new

    [ended] = run_lines(caplog)
    assert (ended.run_id, ended.status, ended.delivered) == (run.id, "completed", 2)  # type: ignore[attr-defined]
    assert ended.duration_s is not None and ended.duration_s >= 0  # type: ignore[attr-defined]
