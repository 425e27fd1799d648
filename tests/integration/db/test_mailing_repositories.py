"""Mailings and their runs, on PostgreSQL and on SQLite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.api_tokens import ApiToken
from domain.errors import NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Ownership, Schedule, ScheduleKind
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import RecipientList
from domain.runs import MailingRun, RunStatus, RunTotals
from domain.templates import Template
from domain.users import Role, User
from infrastructure.db.engine import create_poll_engine
from infrastructure.db.repositories import SqlRunRepository
from infrastructure.db.repositories.api_tokens import SqlTokenRunReader

MOSCOW = ZoneInfo("Europe/Moscow")
SLOT = datetime(2025, 7, 1, 10, 0, tzinfo=MOSCOW)


async def add_lists(uow: UnitOfWork, count: int) -> list[int]:
    lists = [await uow.lists.add(RecipientList(name=f"L{n}", owner_id=1)) for n in range(count)]
    return [rlist.id for rlist in lists if rlist.id is not None]


async def add_mailing(uow: UnitOfWork, **changes: Any) -> Mailing:
    mailing = replace(Mailing(owner_id=1, name="News", channel=Channel.email), **changes)
    await uow.mailings.add(mailing)
    assert mailing.id is not None
    return mailing


async def test_a_mailing_round_trips_every_field(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        template = await uow.templates.add(Template(name="T", owner_id=1, body="{name}"))
        list_ids = await add_lists(uow, 3)
        mailing = await add_mailing(
            uow,
            name="Летняя акция",
            channel=Channel.telegram,
            body="<b>Скидки</b> для {name}",
            subject="Акция",
            template_id=template.id,
            media={"type": "photo", "file_id": "AgAD", "подпись": "фото"},
            options={"disable_preview": True, "rate": 25},
            list_ids=[list_ids[2], list_ids[0]],
            schedule=Schedule(
                kind=ScheduleKind.cron,
                run_at=SLOT,
                cron="0 10 * * 1",
                timezone="Asia/Yekaterinburg",
                ends_at=SLOT + timedelta(days=30),
                max_runs=4,
            ),
            status=MailingStatus.scheduled,
            archived_at=SLOT,
        )
        await uow.commit()
    assert mailing.created_at is not None and mailing.updated_at is not None

    async with uow_factory() as uow:
        loaded = await uow.mailings.get(mailing.id or 0)
        assert await uow.mailings.get((mailing.id or 0) + 1) is None
    assert loaded is not None
    assert loaded.list_ids == sorted(mailing.list_ids)
    loaded.list_ids = mailing.list_ids
    assert loaded == mailing
    assert loaded.schedule.run_at is not None and loaded.schedule.run_at.utcoffset() == timedelta(
        0
    )


async def test_update_rewrites_fields_and_target_lists(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a, b, c = await add_lists(uow, 3)
        mailing = await add_mailing(uow, list_ids=[a, b], media={"type": "photo"})
        await uow.commit()
    created = mailing.updated_at
    assert created is not None

    async with uow_factory() as uow:
        mailing.list_ids, mailing.media, mailing.body = [c, b], None, "Новый текст"
        mailing.schedule_for(Schedule(kind=ScheduleKind.once, run_at=SLOT))
        await uow.mailings.update(mailing)
        await uow.commit()
        with pytest.raises(NotFound):
            await uow.mailings.update(Mailing(owner_id=1, name="x", channel=Channel.email, id=999))

    async with uow_factory() as uow:
        loaded = await uow.mailings.get(mailing.id or 0)
    assert loaded is not None and loaded.list_ids == [b, c]
    assert (loaded.media, loaded.body, loaded.status) == (None, "Новый текст", "scheduled")
    assert loaded.schedule == Schedule(kind=ScheduleKind.once, run_at=SLOT)
    assert loaded.updated_at is not None and loaded.updated_at >= created


async def test_search_filters_pages_and_loads_list_ids(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        (list_id,) = await add_lists(uow, 1)
        ids = [(await add_mailing(uow, name=f"m{n}", list_ids=[list_id])).id for n in range(4)]
        await add_mailing(uow, name="other owner", owner_id=2)
        await add_mailing(uow, name="archived", archived_at=SLOT)
        await add_mailing(uow, name="running", status=MailingStatus.running)
        await uow.commit()

    async with uow_factory() as uow:
        first = await uow.mailings.search(owner_id=1, status=MailingStatus.draft, page=0, size=3)
        second = await uow.mailings.search(owner_id=1, status=MailingStatus.draft, page=1, size=3)
        everyone = await uow.mailings.search(owner_id=None, status=None, page=0, size=50)
        archived = await uow.mailings.search(
            owner_id=1, status=None, page=0, size=50, include_archived=True
        )

    assert [m.id for m in first.items + second.items] == list(reversed(ids))  # newest first
    assert (first.total, first.pages) == (4, 2)
    assert all(m.list_ids == [list_id] for m in first.items)
    assert {m.name for m in everyone.items} >= {"other owner", "running"}
    assert "archived" not in {m.name for m in everyone.items} and everyone.total == 6
    assert archived.total == 6 and "archived" in {m.name for m in archived.items}


async def test_name_taken_is_per_owner_and_ignores_archived(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        news = await add_mailing(uow, name="Новости")
        await add_mailing(uow, name="Old", archived_at=SLOT)
        assert await uow.mailings.name_taken(1, "Новости")
        assert not await uow.mailings.name_taken(1, "Новости", exclude_id=news.id)
        assert not await uow.mailings.name_taken(2, "Новости")
        assert not await uow.mailings.name_taken(1, "Old")


async def test_deleting_a_template_detaches_it_and_deleting_a_mailing_drops_its_runs(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        template = await uow.templates.add(Template(name="T", owner_id=1, body="b"))
        mailing = await add_mailing(uow, template_id=template.id)
        other = await add_mailing(uow, name="other")
        run = await uow.runs.add(MailingRun(mailing_id=mailing.id or 0, scheduled_for=SLOT))
        kept = await uow.runs.add(MailingRun(mailing_id=other.id or 0, scheduled_for=SLOT))
        assert run is not None and run.id is not None and kept is not None
        await uow.templates.delete(template.id or 0)
        await uow.commit()
    # deliveries have no foreign key to runs (migration 0005): the repository removes them
    async with db_engine.begin() as conn:
        for run_id in (run.id, kept.id):
            await conn.execute(
                text(
                    "INSERT INTO deliveries (run_id, address_id, status, attempts)"
                    " VALUES (:run, 1, 'pending', 0), (:run, 2, 'delivered', 1)"
                ),
                {"run": run_id},
            )

    async with uow_factory() as uow:
        loaded = await uow.mailings.get(mailing.id or 0)
        assert loaded is not None and loaded.template_id is None
        await uow.mailings.delete(mailing.id or 0)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.mailings.get(mailing.id or 0) is None
        assert await uow.runs.get(run.id) is None
    async with db_engine.connect() as conn:
        left = await conn.execute(text("SELECT run_id, COUNT(*) FROM deliveries GROUP BY run_id"))
        assert {row[0]: row[1] for row in left} == {kept.id: 2}


async def test_a_run_round_trips_and_its_slot_is_taken_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        mailing = await add_mailing(uow)
        run = MailingRun(
            mailing_id=mailing.id or 0,
            scheduled_for=SLOT,
            content={"subject": "Тема", "body": "<i>текст</i>", "media": None},
            totals=RunTotals(pending=5, delivered=2, failed=1, refused=1, sending=1),
            launched_by=42,
            is_test=True,
            note="ручной запуск",
            started_at=SLOT + timedelta(seconds=3),
        )
        assert await uow.runs.add(run) is run and run.id is not None
        duplicate = MailingRun(mailing_id=mailing.id or 0, scheduled_for=SLOT.astimezone(UTC))
        assert await uow.runs.add(duplicate) is None
        await uow.commit()  # the refused duplicate did not spoil the transaction

    async with uow_factory() as uow:
        assert await uow.runs.get(run.id) == run
        assert await uow.runs.for_mailing(mailing.id or 0) == [run]
        assert await uow.runs.get_with_ownership(run.id) == (run, Ownership(1, False))
        assert await uow.runs.get_with_ownership(run.id + 1) is None
        mailing.archived_at = SLOT
        await uow.mailings.update(mailing)
        assert await uow.runs.get_with_ownership(run.id) == (run, Ownership(1, True))


async def test_a_token_and_a_run_are_read_in_one_statement(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.users.add(User(telegram_id=1, role=Role.manager))
        token = await uow.api_tokens.add(ApiToken(1, "shop", "h1", "mf_a"))
        mailing = await add_mailing(uow)
        run = await uow.runs.add(MailingRun(mailing_id=mailing.id or 0, scheduled_for=SLOT))
        assert run is not None and run.id is not None
        await uow.commit()
    polls = create_poll_engine(db_engine)
    reader = SqlTokenRunReader(polls)
    try:
        async with uow_factory() as uow:  # what the unit of work's two reads see
            owner = await uow.users.get(1)
            seen = await uow.runs.get_with_ownership(run.id)
        assert seen == (run, Ownership(1, False))
        assert await reader.token_and_run("h1", run.id) == (token, owner, seen)
        assert await reader.token_and_run("h1", run.id + 1) == (token, owner, None)
        assert await reader.token_and_run("nope", run.id) is None
        if polls.dialect.name == "postgresql":  # the server drops the connection (a restart)
            async with db_engine.begin() as conn:
                dropped = await conn.scalars(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                        " AND query LIKE '%api_tokens%'"
                    )
                )
                assert dropped.all() == [True]  # the reader's one pooled connection
            assert await reader.token_and_run("h1", run.id) == (token, owner, seen)
    finally:
        if polls is not db_engine:
            await polls.dispose()


async def test_run_update_keeps_totals_that_only_increments_change(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        mailing = await add_mailing(uow)
        run = await uow.runs.add(
            MailingRun(
                mailing_id=mailing.id or 0, scheduled_for=SLOT, totals=RunTotals(pending=10)
            )
        )
        assert run is not None and run.id is not None
        assert isinstance(uow.runs, SqlRunRepository)
        await uow.runs.add_to_totals(run.id, RunTotals(pending=-4, delivered=3, refused=1))
        run.status, run.finished_at, run.note = RunStatus.completed, SLOT, "done"
        run.totals = RunTotals()  # a stale copy must not overwrite the counts
        await uow.runs.update(run)
        await uow.commit()
        with pytest.raises(NotFound):
            await uow.runs.update(MailingRun(mailing_id=1, scheduled_for=SLOT, id=999))

    async with uow_factory() as uow:
        loaded = await uow.runs.get(run.id)
    assert loaded is not None
    assert loaded.totals == RunTotals(pending=6, delivered=3, refused=1)
    assert (loaded.status, loaded.finished_at, loaded.note) == ("completed", SLOT, "done")


async def test_runs_of_a_mailing_come_newest_slot_first(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        mailing, other = await add_mailing(uow), await add_mailing(uow, name="other")
        for days in (0, 2, 1):
            slot = SLOT + timedelta(days=days)
            await uow.runs.add(MailingRun(mailing_id=mailing.id or 0, scheduled_for=slot))
        await uow.commit()

        runs = await uow.runs.for_mailing(mailing.id or 0, limit=2)
        last = await uow.runs.last_for_mailing(mailing.id or 0)
        assert await uow.runs.last_for_mailing(other.id or 0) is None
        assert await uow.runs.for_mailing(other.id or 0) == []

    assert [r.scheduled_for for r in runs] == [SLOT + timedelta(days=2), SLOT + timedelta(days=1)]
    assert last == runs[0]
