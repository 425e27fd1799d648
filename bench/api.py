"""Benchmark: the HTTP API of a running bot on PostgreSQL.

    .venv/bin/python bench/api.py            # 100,000 members in calls of 10,000
    .venv/bin/python bench/api.py --quick    # 1,000 members in calls of 500 (tests)
    .venv/bin/python bench/api.py --worker-process   # sending left to `mailforge worker`

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), starts the
bot in this process as ``mailforge run`` does (its web server, its HTTP API on uvicorn,
its in-process workers) against the fake Bot API and an SMTP relay, each in a process of
its own, then, over HTTP with a token:

1. pushes the members into a list through ``POST /lists/{id}/members`` (emails with a name
   and two fields each), from a client in a process of its own (``bench/api_poller.py``,
   bodies encoded before the clock starts). Baseline in the same run: the same members
   stored by the same upserter called directly (no HTTP, no JSON), into another list.
   Target ≥ 20,000/s.
2. launches an email mailing to that list and reads ``GET /runs/{id}`` in a loop while the
   workers send at full speed, from a client in a process of its own
   (``bench/api_poller.py``); latency p50/p95 beside the same call on an idle bot.
   Target p95 ≤ 20 ms.

``--worker-process``: the bot with ``WORKERS=0`` and the sending done by a
``python -m bot worker`` process (2 workers, as the bot's default), the deployment that
keeps the delivery thread off the bot's GIL (README, "HTTP API").

``API_RATE`` is raised for the bench's token: the poll loop asks more than 20 times a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_poller import members
from bench.args import bench_args
from bench.delivery_fakes import FakeProcess
from domain.members import MemberInput
from domain.usecases import roles
from domain.usecases.api_tokens import create_token
from infrastructure.db.migrate import upgrade
from tests.support.db import drop_database, fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # noqa: S105 (the fake accepts it)
ADMIN = 1001


def describe(label: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p95 = ordered[int(len(ordered) * 0.95)] * 1000
    return f"{label}: {len(ordered):,} calls · p50 {p50:.1f} ms · p95 {p95:.1f} ms"


async def in_own_process(base: str, secret: str, *args: str) -> Any:
    """Runs ``bench/api_poller.py`` (the client in a process of its own, as a user's system
    is: in this process it shared the bot's event loop and GIL); its JSON answer."""
    poller = Path(__file__).with_name("api_poller.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(poller), base, *args,
        env={**os.environ, "MAILFORGE_BENCH_TOKEN": secret},
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench/api_poller.py failed ({proc.returncode})")
    return json.loads(out)


async def push(
    base: str, secret: str, list_id: int, first: int, total: int, per_call: int
) -> float:
    rate: float = await in_own_process(
        base, secret, str(list_id), "--push", str(total), "--per-call", str(per_call),
        "--first", str(first),
    )  # fmt: skip
    return rate


async def bare_push(app: Any, list_id: int, total: int, per_call: int) -> float:
    """The same members through the same upserter, called directly."""
    from infrastructure.importers.members import SqlMemberUpserter

    upserter = SqlMemberUpserter(app.db.engine)
    started = time.perf_counter()
    for start in range(0, total, per_call):
        batch = [
            MemberInput(m["email"], None, m["name"], {k: str(v) for k, v in m["fields"].items()})
            for m in members(total + start, per_call)
        ]
        report = await upserter.upsert(list_id, batch)
        assert report.added == per_call
    return total / (time.perf_counter() - started)


async def poll(base: str, secret: str, run_id: int, *, until_done: bool) -> list[float]:
    """``GET /runs/{id}`` from the client in its own process."""
    mode = ["--until-done"] if until_done else ["--count", "200"]
    latencies: list[float] = await in_own_process(base, secret, str(run_id), *mode)
    return latencies


async def journey(app: Any, base: str, total: int, per_call: int) -> None:
    await roles.ensure_admins(app.db.uow_factory, [ADMIN])
    _, secret = await create_token(app.db.uow_factory, None, ADMIN, "bench")
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        list_id = (await http.post("/lists", json={"name": "Bench"})).json()["id"]
        other_id = (await http.post("/lists", json={"name": "Bare"})).json()["id"]
        await push(base, secret, list_id, 0, per_call, per_call)  # warm-up: plans, caches
        rate = await push(base, secret, list_id, per_call, total - per_call, per_call)
        bare = await bare_push(app, other_id, total - per_call, per_call)
        print(
            f"members via API: {rate:,.0f} members/s ({total:,} in calls of {per_call:,}) · "
            f"bare upserter {bare:,.0f}/s · ratio {rate / bare:.2f}; target >= 20,000/s"
        )
        made = await http.post(
            "/mailings",
            json={"name": "Bench", "channel": "email", "subject": "Hi {{ name }}",
                  "text": "Hello {{ name }} from {{ city }}", "list_ids": [list_id]},
        )  # fmt: skip
        mailing_id = made.json()["id"]
        test = (
            await http.post(f"/mailings/{mailing_id}/test", json={"address": "me@example.com"})
        ).json()
        idle = await poll(base, secret, test["id"], until_done=False)
        launched = (await http.post(f"/mailings/{mailing_id}/launch")).json()
        started = time.perf_counter()
        busy = await poll(base, secret, launched["id"], until_done=True)
        took = time.perf_counter() - started
        run = (await http.get(f"/runs/{launched['id']}")).json()
        print(describe("GET /runs/{id} idle", idle))
        print(
            describe("GET /runs/{id} while sending", busy)
            + f" · run {run['status']}: {run['totals']['delivered']:,} delivered in {took:.1f} s"
            f" ({run['totals']['delivered'] / took:,.0f} msg/s); target p95 <= 20 ms"
        )


async def worker_process(url: str, botapi: int, smtp: int) -> asyncio.subprocess.Process:
    """``python -m bot worker`` with the bot's settings, its output thrown away."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ADMIN_"))}
    env.update(
        BOT_TOKEN=TOKEN, DATABASE_URL=url, TELEGRAM_API_URL=f"http://127.0.0.1:{botapi}",
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp), SMTP_SECURITY="none",
        SMTP_FROM="News <news@example.com>", WEB_PORT="0", WORKERS="2",
    )  # fmt: skip
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "worker", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def worker_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--worker-process", action="store_true", help="WORKERS=0, sending in `mailforge worker`"
    )


async def main() -> None:
    args = bench_args(__doc__, "1,000 members in calls of 500 (the test suite)", worker_option)
    total, per_call = (1_000, 500) if args.quick else (100_000, 10_000)
    url = await fresh_pg_database(args.pg_url, prefix="mailforge_bench")
    botapi, smtp = FakeProcess("botapi"), FakeProcess("smtp")
    worker = None
    try:
        await upgrade(url)
        from bot import runner
        from bot.settings import load_settings

        settings = load_settings(
            bot_token=TOKEN, database_url=url, telegram_api_url=f"http://127.0.0.1:{botapi.port}",
            admin_ids=[ADMIN], web_port=0, api_enabled=True, api_rate=1000,
            smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
            smtp_from="News <news@example.com>",
            **({"workers": 0} if args.worker_process else {}),
        )  # fmt: skip
        worker = await worker_process(url, botapi.port, smtp.port) if args.worker_process else None
        app = await runner.start(settings)
        runner.settle_heap()  # as ``mailforge run`` does: no full collection walks start-up's heap
        serving = asyncio.create_task(runner.serve(app, handle_signals=False, polling_timeout=1))
        try:
            await asyncio.wait_for(app.web.listening.wait(), 60)
            await journey(app, f"http://127.0.0.1:{app.web.port}/api/v1", total, per_call)
        finally:
            await runner.stop(app)
            await serving
            await app.close()
    finally:
        if worker is not None:
            worker.terminate()
            await worker.wait()
        botapi.close()
        smtp.close()
        await drop_database(url, args.pg_url)


if __name__ == "__main__":
    asyncio.run(main())
