"""Benchmark: a big list imported into a fresh database and launched at once.

    .venv/bin/python bench/plans.py            # 1,000,000 Telegram ids
    .venv/bin/python bench/plans.py --quick    # 20,000 (the test suite)

What a new user does, at the engine's level: a worker is already running (idle on the
empty tables, as in ``mailforge run``), a list of Telegram ids is imported through
``SqlRecipientImporter``, the mailing dialog counts its reachable recipients, and a mailing
to it is launched through the launch use case. The worker sends through a channel that
takes ``--rate`` messages/s (the baseline: what the channel allows). Autovacuum is never
relied upon: this machine runs with it off.

Prints the import, the dialog's count (the preview with the reachable recipients, and the
lists' sizes), the launch (snapshot), the first delivery after the launch, the slowest
claim of the first batches, and the rate over the first seconds beside the channel's
rate. Drops its database at the end.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.args import bench_args
from domain.delivery import Message, Outbound, Outcome, RunContent, SendResult
from domain.imports import ImportSource
from domain.mailings import Channel, Mailing
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import RecipientList
from domain.usecases import launch, lists, roles
from domain.usecases import preview as previews
from domain.usecases.deliver import Worker
from domain.users import Role
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.db.wakeup import PgWorkSignal
from infrastructure.importers import SqlRecipientImporter
from infrastructure.rendering import JinjaRenderer
from tests.support.db import drop_database, fresh_pg_database

MANAGER = 1
TELEGRAM = frozenset({Channel.telegram})


class _Quiet:
    async def access_changed(self, user: object) -> None:
        return None


@dataclass
class RatedChannel:
    """Takes ``rate`` messages/s, like a channel held to its limit; notes every send."""

    rate: float
    sent: list[float] = field(default_factory=list)  # monotonic time of each batch's end
    counts: list[int] = field(default_factory=list)

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        await asyncio.sleep(len(messages) / self.rate)
        self.sent.append(time.monotonic())
        self.counts.append(len(messages))
        return [SendResult(m.outbound.delivery_id, Outcome.delivered) for m in messages]

    async def close(self) -> None:
        return None

    def delivered_by(self, moment: float) -> int:
        return sum(n for at, n in zip(self.sent, self.counts, strict=True) if at <= moment)


class TimedQueue(SqlDeliveryQueue):
    """The real queue, timing each claim that returned rows."""

    claims: list[float]

    async def claim(self, limit: int, now: datetime, worker: int | None = None) -> list[Outbound]:
        started = time.perf_counter()
        batch = await super().claim(limit, now, worker)
        if batch:
            self.claims.append(time.perf_counter() - started)
        return batch


def write_ids(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("telegram_id\n")
        file.writelines(f"{100_000_000 + i}\n" for i in range(count))


async def timed(action: Callable[[], Awaitable[object]], times: int = 3) -> float:
    """The median of ``times`` runs of ``action``, in seconds."""
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        await action()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


async def prepare(uow_factory: UnitOfWorkFactory) -> int:
    await roles.grant_role(
        uow_factory, _Quiet(), actor_id=None, target_id=MANAGER, role=Role.manager
    )
    async with uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Everyone", MANAGER))
        await uow.commit()
    assert rlist.id is not None
    return rlist.id


async def bench(size: int, rate: float, watch: float, server_url: str) -> None:
    url = await fresh_pg_database(server_url, prefix="mailforge_bench")
    try:
        await upgrade(url)
        await measure(url, size, rate, watch)
    finally:
        await drop_database(url, server_url)


async def measure(url: str, size: int, rate: float, watch: float) -> None:
    bot_engine, worker_engine = create_engine(url), create_engine(url)
    uow_factory = make_uow_factory(create_session_factory(bot_engine))
    channel = RatedChannel(rate)
    queue = TimedQueue(worker_engine)
    queue.claims = []
    signal = PgWorkSignal(url)  # woken by NOTIFY as in ``mailforge run``
    await signal.start()
    worker = Worker(
        queue=queue,
        channels={Channel.telegram: channel},
        renderer=JinjaRenderer(),
        uow_factory=make_uow_factory(create_session_factory(worker_engine)),
        signal=signal,
    )
    stop = asyncio.Event()
    working = asyncio.create_task(worker.run_forever(stop))
    try:
        list_id = await prepare(uow_factory)
        await asyncio.sleep(3)  # the worker polls the empty tables meanwhile, as after start-up
        with tempfile.TemporaryDirectory(prefix="mailforge-bench-") as tmp:
            path = Path(tmp) / "ids.csv"
            write_ids(path, size)
            started = time.perf_counter()
            await SqlRecipientImporter(bot_engine).import_file(
                list_id, ImportSource(path, path.name)
            )
            imported = time.perf_counter() - started
        async with uow_factory() as uow:
            mailing = await uow.mailings.add(
                Mailing(MANAGER, "Big news", Channel.telegram, body="Hi", list_ids=[list_id])
            )
            await uow.commit()
        assert mailing.id is not None
        mailing_id = mailing.id
        renderer = JinjaRenderer()
        count = await timed(
            lambda: previews.build(uow_factory, renderer, MANAGER, mailing_id, TELEGRAM)
        )
        sizes = await timed(lambda: lists.overview(uow_factory, MANAGER))
        print(
            f"import {size:,} Telegram ids: {imported:.1f} s; the dialog's reachable count "
            f"{count * 1000:.0f} ms, the lists' sizes {sizes * 1000:.0f} ms (medians of 3)"
        )
        await launch_and_watch(uow_factory, bot_engine, channel, queue, mailing_id, watch)
    finally:
        stop.set()
        await working
        await signal.close()
        await bot_engine.dispose()
        await worker_engine.dispose()


async def launch_and_watch(
    uow_factory: UnitOfWorkFactory,
    engine: Any,
    channel: RatedChannel,
    queue: TimedQueue,
    mailing_id: int,
    watch: float,
) -> None:
    started = time.perf_counter()
    run = await launch.launch(
        uow_factory,
        SqlDeliveryQueue(engine),
        JinjaRenderer(),
        actor_id=MANAGER,
        mailing_id=mailing_id,
        available=TELEGRAM,
    )
    launched, at = time.perf_counter() - started, time.monotonic()
    await asyncio.sleep(watch)
    first = channel.sent[0] - at if channel.sent else float(watch)
    # The steady rate: from the end of the first batch to the end of the watch.
    steady_from = channel.sent[0] if channel.sent else at
    steady = (channel.delivered_by(at + watch) - (channel.counts[:1] or [0])[0]) / max(
        at + watch - steady_from, 1e-9
    )
    claims = queue.claims[:50]
    print(
        f"launch {run.totals.total:,} recipients: {launched:.1f} s (snapshot and statistics); "
        f"first batch sent {first:.2f} s later; slowest of the first {len(claims)} claims "
        f"{max(claims, default=0) * 1000:.0f} ms, median "
        f"{statistics.median(claims or [0]) * 1000:.0f} ms"
    )
    settled = (channel.delivered_by(at + watch) - channel.delivered_by(at + watch / 4)) / (
        watch * 3 / 4
    )
    print(
        f"sending over the first {watch:.0f} s: {steady:,.0f} msg/s · channel {channel.rate:,.0f}"
        f" msg/s · ratio {steady / channel.rate:.2f} (after the batch sizer's ramp-up, from"
        f" {watch / 4:.0f} s: {settled:,.0f} msg/s, ratio {settled / channel.rate:.2f})"
    )
    await launch.cancel(uow_factory, actor_id=MANAGER, mailing_id=mailing_id)


def main() -> None:
    args = bench_args(__doc__, "20,000 recipients, a few seconds of sending")
    if args.quick:
        asyncio.run(bench(20_000, rate=2_000, watch=4, server_url=args.pg_url))
    else:
        asyncio.run(bench(1_000_000, rate=1_000, watch=20, server_url=args.pg_url))


if __name__ == "__main__":
    main()
