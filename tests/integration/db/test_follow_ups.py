"""SqlFollowUps on both backends: a recall's rows are the send run's copies still in their
chats, with their message ids; old copies go in as kept; a recalled copy is never
recalled again; nothing is written when nothing is left; recalls stay out of the
channel's statistics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.delivery import Outcome, RetryPolicy, SendResult
from domain.follow_ups import KEPT, follow_up_content, kept_before
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import Address, AddressKind
from domain.runs import MailingRun, RunKind, RunStatus, RunTotals
from infrastructure.db.follow_ups import SqlFollowUps
from infrastructure.db.queue import SqlDeliveryQueue
from tests.integration.db.test_queue import T0

# (chat, status, message id, hours since it was delivered)
SENT = [
    ("801", "delivered", "11", 1),
    ("802", "delivered", "12", 50),  # out of Telegram's 48 hours
    ("803", "failed", None, 1),
    ("804", "delivered", None, 1),  # no message id kept (sent before it was)
    ("805", "refused", None, 1),
]


async def sent_run(uow_factory: UnitOfWorkFactory, engine: AsyncEngine) -> MailingRun:
    async with uow_factory() as uow:
        mailing = await uow.mailings.add(
            Mailing(owner_id=1, name="Sent", channel=Channel.telegram, body="Hi")
        )
        assert mailing.id is not None
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing.id,
                scheduled_for=T0,
                status=RunStatus.completed,
                content={
                    "mailing_id": mailing.id,
                    "mailing_name": "Sent",
                    "channel": "telegram",
                    "body": "Hi",
                },
            )
        )
        assert run is not None and run.id is not None
        ids = {}
        for chat, *_ in SENT:
            address = await uow.addresses.upsert(Address(AddressKind.telegram, chat))
            ids[chat] = address.id
        await uow.commit()
    async with engine.begin() as conn:
        for chat, status, message_id, hours in SENT:
            await conn.execute(
                text(
                    "INSERT INTO deliveries (run_id, address_id, status, attempts,"
                    " provider_message_id, updated_at) VALUES (:r, :a, :s, 1, :m, :u)"
                ).bindparams(),
                {
                    "r": run.id,
                    "a": ids[chat],
                    "s": status,
                    "m": message_id,
                    "u": (T0 - timedelta(hours=hours)).replace(tzinfo=None),
                },
            )
    return run


def recall_of(source: MailingRun, second: int = 1) -> MailingRun:
    return MailingRun(
        mailing_id=source.mailing_id,
        scheduled_for=T0 + timedelta(seconds=second),
        content=follow_up_content(source, RunKind.recall).to_json(),
        kind=RunKind.recall,
        source_run_id=source.id,
        started_at=T0,
    )


async def test_a_recall_takes_the_copies_still_in_their_chats_once(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    source = await sent_run(uow_factory, db_engine)
    follow_ups, queue = SqlFollowUps(db_engine), SqlDeliveryQueue(db_engine)

    started = await follow_ups.start(recall_of(source), kept_before(RunKind.recall, T0))
    assert started is not None and (started.pending, started.kept) == (1, 1)
    async with uow_factory() as uow:
        recall = await uow.runs.get(started.run_id)
        assert source.id is not None
        assert [r.id for r in await uow.runs.follow_ups(source.id)] == [started.run_id]
        assert [r.id for r in await uow.runs.for_mailing(source.mailing_id)] == [source.id]
    assert recall is not None and recall.status is RunStatus.running
    assert recall.kind is RunKind.recall and recall.source_run_id == source.id
    assert recall.totals == RunTotals(pending=1, failed=1)

    claimed = await queue.claim(10, T0)
    assert [o.value for o in claimed] == ["801"]
    assert await follow_ups.targets([o.delivery_id for o in claimed]) == {
        claimed[0].delivery_id: (11,)
    }
    async with db_engine.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT last_error FROM deliveries WHERE run_id = :r AND status = 'failed'"),
                {"r": started.run_id},
            )
        ).scalar_one()
    assert kept == KEPT

    result = SendResult(claimed[0].delivery_id, Outcome.delivered, provider_id="11")
    await queue.complete([result], T0, RetryPolicy())
    async with db_engine.connect() as conn:
        minutes = (await conn.execute(text("SELECT count(*) FROM run_minutes"))).scalar_one()
    assert minutes == 0  # a deletion is no send: the channel's statistics leave it out

    # The deleted copy is never recalled again; the old one is kept again.
    again = await follow_ups.start(recall_of(source, 2), kept_before(RunKind.recall, T0))
    assert again is not None and (again.pending, again.kept) == (0, 1)


async def test_nothing_left_writes_nothing(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    source = await sent_run(uow_factory, db_engine)
    async with db_engine.begin() as conn:
        await conn.execute(text("UPDATE deliveries SET provider_message_id = NULL"))
    assert await SqlFollowUps(db_engine).start(recall_of(source), T0) is None
    async with uow_factory() as uow:
        assert source.id is not None
        assert await uow.runs.follow_ups(source.id) == []
