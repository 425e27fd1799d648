"""Statistics use cases against in-memory repositories: who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from domain.errors import AccessDenied, InvalidInput, NotFound
from domain.mailings import Channel, Mailing
from domain.pagination import Page
from domain.runs import MailingRun, RunTotals
from domain.stats import ExportFormat, ExportRow, Sends
from domain.usecases import stats
from domain.users import Role, User

OWNER, COLLEAGUE, ADMIN, STRANGER = 1, 2, 3, 4
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Users:
    def __init__(self) -> None:
        self.rows = {
            OWNER: User(OWNER, role=Role.manager),
            COLLEAGUE: User(COLLEAGUE, role=Role.manager),
            ADMIN: User(ADMIN, role=Role.admin),
            STRANGER: User(STRANGER),
        }

    async def get(self, telegram_id: int) -> User | None:
        return self.rows.get(telegram_id)


class Mailings:
    def __init__(self) -> None:
        self.rows = {
            10: Mailing(OWNER, "Mine", Channel.telegram, id=10),
            20: Mailing(COLLEAGUE, "Theirs", Channel.email, id=20),
        }

    async def get(self, mailing_id: int) -> Mailing | None:
        return self.rows.get(mailing_id)


class Runs:
    def __init__(self) -> None:
        self.rows = {
            100: MailingRun(10, NOW, totals=RunTotals(delivered=3, failed=1), id=100),
            200: MailingRun(20, NOW, totals=RunTotals(delivered=5), id=200),
            300: MailingRun(10, NOW + timedelta(days=1), totals=RunTotals(delivered=2), id=300),
        }

    async def get(self, run_id: int) -> MailingRun | None:
        return self.rows.get(run_id)

    async def last_for_mailing(self, mailing_id: int) -> MailingRun | None:
        runs = [r for r in self.rows.values() if r.mailing_id == mailing_id]
        return max(runs, key=lambda r: r.scheduled_for, default=None)


class Stats:
    """``StatsReader``: the read side, outside the unit of work."""

    def __init__(self, rows_kept: bool = True) -> None:
        self.rows_kept = rows_kept
        self.since: list[datetime] = []
        self.with_tests: list[bool] = []

    async def rate(self, run_id: int) -> list[Any]:
        return []

    async def has_deliveries(self, run_id: int) -> bool:
        return self.rows_kept

    async def failure_reasons(self, run_id: int, limit: int) -> list[Any]:
        return []

    async def possibly_twice(self, run_id: int) -> int:
        return 0

    async def runs_page(self, mailing_id: int, page: int, size: int) -> Page[MailingRun]:
        return Page(items=[], total=0, page=page, size=size)

    async def channel_sends(
        self, since: datetime, *, with_tests: bool = False
    ) -> dict[Channel, Sends]:
        self.since.append(since)
        self.with_tests.append(with_tests)
        return {Channel.telegram: Sends(delivered=1)}

    async def daily_sends(
        self, since: datetime, tz: tzinfo, *, with_tests: bool = False
    ) -> list[Any]:
        self.with_tests.append(with_tests)
        return []

    async def export_rows(self, run_id: int, after_id: int, limit: int) -> list[ExportRow]:
        ids = [i for i in range(1, 8) if i > after_id][:limit]
        return [ExportRow(i, f"a{i}", "telegram", "delivered", 1, None, NOW) for i in ids]


class Uow:
    def __init__(self) -> None:
        self.users, self.mailings, self.runs = Users(), Mailings(), Runs()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Writer:
    def __init__(self) -> None:
        self.chunks: list[int] = []
        self.closed = False

    async def write(self, rows: list[ExportRow]) -> None:
        self.chunks.append(len(rows))

    async def close(self) -> None:
        self.closed = True


def factory(uow: Uow) -> Any:
    return lambda: uow


async def test_a_manager_sees_the_latest_run_of_an_own_mailing() -> None:
    report = await stats.run_report(factory(Uow()), Stats(), OWNER, 10)
    assert report.run.id == 300 and not report.details_removed


@pytest.mark.parametrize(("actor", "mailing", "run"), [(OWNER, 20, None), (COLLEAGUE, 10, 100)])
async def test_someone_elses_mailing_looks_missing(
    actor: int, mailing: int, run: int | None
) -> None:
    with pytest.raises(NotFound) as caught:
        await stats.run_report(factory(Uow()), Stats(), actor, mailing, run)
    assert caught.value.key == "mailings-not-found"
    with pytest.raises(NotFound):
        await stats.run_history(factory(Uow()), Stats(), actor, mailing)


async def test_a_run_of_another_mailing_cannot_be_smuggled_in_through_an_own_one() -> None:
    with pytest.raises(NotFound) as caught:
        await stats.run_report(factory(Uow()), Stats(), OWNER, 10, 200)
    assert caught.value.key == "stats-run-not-found"


async def test_admins_see_every_mailing_and_strangers_nothing() -> None:
    report = await stats.run_report(factory(Uow()), Stats(), ADMIN, 20)
    assert report.mailing.name == "Theirs"
    with pytest.raises(AccessDenied):
        await stats.run_report(factory(Uow()), Stats(), STRANGER, 10)


async def test_only_admins_get_the_per_channel_summary() -> None:
    reader = Stats()
    summary = await stats.channel_summary(factory(Uow()), reader, ADMIN, NOW)
    assert sorted(reader.since) == [NOW - timedelta(days=d) for d in (30, 7, 1)]
    assert reader.with_tests == [False] * 4 and not summary.with_tests  # by default
    assert all(per == {Channel.telegram: Sends(delivered=1)} for per in summary.periods.values())
    for actor in (OWNER, STRANGER):
        with pytest.raises(AccessDenied):
            await stats.channel_summary(factory(Uow()), Stats(), actor, NOW)


async def test_an_export_is_written_in_chunks_and_refused_to_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(stats, "EXPORT_CHUNK", 3)
    writer = Writer()
    args = {"mailing_id": 10, "run_id": 100, "fmt": ExportFormat.csv, "dest": tmp_path / "r.csv"}
    written = await stats.export_run(
        factory(Uow()), Stats(), lambda *_: writer, actor_id=OWNER, **args
    )
    assert (written, writer.chunks, writer.closed) == (7, [3, 3, 1], True)
    with pytest.raises(NotFound):
        await stats.export_run(
            factory(Uow()), Stats(), lambda *_: Writer(), actor_id=COLLEAGUE, **args
        )


async def test_after_retention_the_report_says_so_and_the_export_is_refused(
    tmp_path: Path,
) -> None:
    report = await stats.run_report(factory(Uow()), Stats(rows_kept=False), OWNER, 10, 100)
    assert report.details_removed and report.reasons == []
    with pytest.raises(InvalidInput) as caught:
        await stats.export_run(
            factory(Uow()),
            Stats(rows_kept=False),
            lambda *_: Writer(),
            actor_id=OWNER,
            mailing_id=10,
            run_id=100,
            fmt=ExportFormat.xlsx,
            dest=tmp_path / "r.xlsx",
        )
    assert caught.value.key == "stats-export-removed"
