"""Benchmark: scale-out, several ``mailforge worker`` processes sharing the Telegram limit.

    .venv/bin/python bench/scale_out.py            # 3 workers, 30 msg/s, 3,000 recipients
    .venv/bin/python bench/scale_out.py --quick    # 3 workers, 30 msg/s, 150 recipients

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), starts the
fake Bot API in a process of its own enforcing ``--rate`` messages/s (429 retry_after 1
past it), the bot (``python -m bot run`` with ``WORKERS=0``) and ``--processes`` worker
processes (``python -m bot worker``), all with ``TELEGRAM_RATE=--rate`` and ``REDIS_URL``
(keys under a random prefix, deleted at the end), launches one Telegram mailing and
prints, as counted at the fake: the rate achieved, the busiest 1-second window, the 429s
answered and the sends that arrived inside a 429's retry_after, how many messages each
worker process sent, and nobody lost or sent twice. Drops its database at the end.

``tests/e2e/test_scale_out.py`` runs this script with 30,000 recipients at 600/s and
``--json`` (what the fake and the database saw, written to a file) and asserts on that.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.delivery_fakes import BULK_CHAT_BASE, FakeProcess
from domain.mailings import Channel, Mailing
from domain.recipients import RecipientList
from domain.runs import RunStatus
from domain.usecases import roles
from domain.usecases.launch import launch
from domain.users import Role
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade
from infrastructure.db.queue import SqlDeliveryQueue
from infrastructure.rendering import JinjaRenderer
from tests.support.db import drop_database, fresh_pg_database
from tests.support.redis import delete_keys

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # noqa: S105 (the fake's)
MANAGER = 5005
FIRST_CHAT = BULK_CHAT_BASE + 1  # bulk chats: the fake counts them, keeps no message
GRACE = 0.25  # s after a 429 during which requests already on their way are excused
ROOT = Path(__file__).resolve().parents[1]


class _Quiet:
    async def access_changed(self, user: object) -> None:
        return None


@dataclass
class ScaleOut:
    """What the fake and the database saw."""

    recipients: int
    rate: float
    counts: list[int]  # messages accepted by the fake per recipient chat
    statuses: dict[str, int]  # delivery rows per status
    run_status: RunStatus
    delivered_total: int  # the run's own total
    report: dict[str, Any]  # FakeState.rate_report
    sent_by_process: list[int]  # sends per worker process (by its connections' ports)

    @property
    def duplicates(self) -> int:
        return sum(c - 1 for c in self.counts if c > 1)

    @property
    def lost(self) -> int:
        return sum(1 for c in self.counts if c == 0)

    @property
    def achieved(self) -> float:
        r = self.report
        span = (r["last"] - r["first"]) if r["accepted"] > 1 else 0.0
        return (r["accepted"] - 1) / span if span > 0 else float("nan")

    def figures(self) -> dict[str, Any]:
        """Everything but the per-recipient counts, with the figures derived from them."""
        data = dataclasses.asdict(self)
        del data["counts"]
        data["run_status"] = self.run_status.value
        return data | {"duplicates": self.duplicates, "lost": self.lost}

    def summary(self, processes: int) -> str:
        r = self.report
        return (
            f"scale-out: {processes} workers at {self.rate:g} msg/s: {self.achieved:.1f} msg/s "
            f"at the fake over {self.recipients:,} recipients; busiest 1-s window "
            f"{r['busiest_second']} (limit {self.rate:g}); 429 answered {r['throttled']}, "
            f"sent inside a retry_after {r['violations']}; per process "
            f"{' / '.join(f'{n:,}' for n in self.sent_by_process)}; "
            f"duplicates {self.duplicates}, lost {self.lost}; "
            f"delivery rows {self.statuses}"
        )


async def _mailing(url: str, recipients: int) -> int:
    """A manager, a list of ``recipients`` chats (one INSERT…SELECT), a mailing to it."""
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        await roles.grant_role(
            uow_factory, _Quiet(), actor_id=None, target_id=MANAGER, role=Role.manager
        )
        async with uow_factory() as uow:
            rlist = await uow.lists.add(RecipientList("Everyone", MANAGER))
            await uow.commit()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "WITH a AS (INSERT INTO addresses (kind, value)"
                    " SELECT 'telegram', CAST(:first + g AS TEXT)"
                    " FROM generate_series(0, :n - 1) AS g RETURNING id)"
                    " INSERT INTO list_members (list_id, address_id) SELECT :list, id FROM a"
                ),
                {"first": FIRST_CHAT, "n": recipients, "list": rlist.id},
            )
        assert rlist.id is not None
        async with uow_factory() as uow:
            mailing = await uow.mailings.add(
                Mailing(
                    owner_id=MANAGER,
                    name="Scale news",
                    channel=Channel.telegram,
                    body="Hello <b>everyone</b>",
                    list_ids=[rlist.id],
                    fast=True,  # above 30/s Telegram needs paid broadcasts; at 30/s a no-op
                )
            )
            await uow.commit()
        assert mailing.id is not None
        return mailing.id
    finally:
        await engine.dispose()


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_"))}
    env.pop("DATABASE_URL", None)
    env.update(settings)
    return env


async def _spawn(command: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:  # a file: a full pipe would stall the process
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", command, env=env, cwd=ROOT, stdout=out, stderr=out
        )


def _ports_of(pids: list[int], fake_port: int) -> dict[int, int]:
    """Local port -> pid of every connection the given processes hold to the fake."""
    found: dict[int, int] = {}
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        for conn in connections:
            if conn.raddr and conn.raddr.port == fake_port:
                found[conn.laddr.port] = pid
    return found


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for proc in processes:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def scale_out(
    url: str,
    redis_url: str,
    redis_prefix: str,
    logs: Path,
    *,
    recipients: int,
    rate: float,
    processes: int = 3,
    batch: int | None = None,
    within: float = 900.0,
) -> ScaleOut:
    """Send one mailing of ``recipients`` through ``processes`` worker processes and the
    fake enforcing ``rate``; ``url`` is a migrated, empty database."""
    mailing_id = await _mailing(url, recipients)
    # Batches small enough that every process gets several.
    batch = batch or max(5, min(200, recipients // (processes * 4)))
    api = FakeProcess("botapi")
    procs: list[asyncio.subprocess.Process] = []
    engine = create_engine(url)
    try:
        await api.call("set_rate_limit", rate)
        await api.call("set_paid_limit", max(rate, 30.0))  # the same limit on paid sends
        common = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{api.port}",
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": redis_prefix,
            "TELEGRAM_RATE": f"{rate:g}",
            "DELIVERY_BATCH_SIZE": str(batch),
            "WEB_PORT": "0",
        }
        procs.append(await _spawn("run", _env(**common, WORKERS="0"), logs / "bot.log"))
        for n in range(processes):
            procs.append(
                await _spawn("worker", _env(**common, WORKERS="1"), logs / f"worker{n}.log")
            )
        workers = [p.pid for p in procs[1:]]
        uow_factory = make_uow_factory(create_session_factory(engine))
        run = await launch(
            uow_factory,
            SqlDeliveryQueue(engine),
            JinjaRenderer(),
            actor_id=MANAGER,
            mailing_id=mailing_id,
            available=frozenset({Channel.telegram}),
        )
        assert run.id is not None
        port_owner: dict[int, int] = {}
        deadline = time.monotonic() + within
        while run.status is not RunStatus.completed:
            port_owner.update(_ports_of(workers, api.port))
            for proc in procs:
                if proc.returncode is not None:
                    raise RuntimeError(f"process {proc.pid} exited; logs in {logs}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"run not completed within {within:g} s: {run}")
            await asyncio.sleep(0.5)
            async with uow_factory() as uow:
                found = await uow.runs.get(run.id)
            assert found is not None
            run = found
        await _stop(procs)
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY 1"))
            statuses = {str(status): int(count) for status, count in rows}
        sent_by = dict.fromkeys(workers, 0)
        for port, count in (await api.call("send_ports")).items():
            if port in port_owner:
                sent_by[port_owner[port]] += count
        return ScaleOut(
            recipients=recipients,
            rate=rate,
            counts=await api.call("chat_counts", FIRST_CHAT, recipients),
            statuses=statuses,
            run_status=run.status,
            delivered_total=run.totals.delivered,
            report=await api.call("rate_stats", GRACE),
            sent_by_process=[sent_by[pid] for pid in workers],
        )
    finally:
        await _stop(procs)
        api.close()
        await engine.dispose()


async def bench(args: argparse.Namespace) -> None:
    url = await fresh_pg_database(args.pg_url, prefix="mailforge_bench")
    prefix = f"{args.redis_prefix}-{secrets.token_hex(4)}"
    logs = Path(tempfile.mkdtemp(prefix="mailforge-scale-out-"))  # kept only on a failure
    try:
        await upgrade(url)
        result = await scale_out(
            url,
            args.redis_url,
            prefix,
            logs,
            recipients=args.recipients or (150 if args.quick else 3_000),
            rate=args.rate,
            processes=args.processes,
        )
    finally:
        await delete_keys(args.redis_url, prefix)
        await drop_database(url, args.pg_url)
    r = result.report
    ok = (
        result.duplicates == 0
        and result.lost == 0
        and r["busiest_second"] <= args.rate
        and r["violations"] == 0
    )
    print(result.summary(args.processes))
    if args.json:
        await asyncio.to_thread(Path(args.json).write_text, json.dumps(result.figures()))
    print(
        f"  target: the limit held in every 1-s window, every 429 honoured, nobody lost or "
        f"sent twice: {'met' if ok else 'MISSED'}"
    )
    shutil.rmtree(logs, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 recipients (the test suite)")
    parser.add_argument("--recipients", type=int, help="default 3,000 (quick: 150)")
    parser.add_argument("--rate", type=float, default=30.0, help="TELEGRAM_RATE and the fake's")
    parser.add_argument("--processes", type=int, default=3, help="worker processes")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    )
    parser.add_argument("--redis-prefix", default="mfbench", help="keys: <this>-<random>:…")
    parser.add_argument("--json", help="also write the figures to this file (for the tests)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
