"""Benchmark: the click redirect under load (requests/s, p50/p95 latency) on PostgreSQL.

    .venv/bin/python bench/redirect.py            # 100,000 deliveries, 20,000 clicks
    .venv/bin/python bench/redirect.py --quick    # 1,000 deliveries, 400 clicks (tests)

Creates a fresh database on the server of ``--pg-url`` (or ``BENCH_PG_URL``), migrates it,
fills a delivered run with set-based SQL, then starts the bot's tracking routes
(``bot.tracking.TrackingWeb`` over ``Tracker`` on ``bot.web.WebServer``, the same code
``mailforge run`` serves) in a process of its own, and clicks signed links of random
deliveries from this process with 16 connections at once (each a person's click:
counted, a unique click the first time). The baselines, measured in the same run against
the same server process: a bare 302 without any work on the same server, and on a plain
aiohttp server (the web server before it moved onto uvicorn). Target: p95 ≤ 20 ms.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.args import bench_args
from domain.signing import Signer
from domain.tracking import TrackingUrls
from infrastructure.db import create_engine
from infrastructure.db.migrate import upgrade
from tests.support.db import drop_database, fresh_pg_database

SECRET = b"bench-redirect"
LINKS = ["https://shop.example.com/sale?id=7", "https://shop.example.com/app"]
CONCURRENCY = 16
FILL = [
    "INSERT INTO mailings (owner_id, name, channel, timezone) VALUES (1, 'bench', 'email', 'UTC')",
    "INSERT INTO mailing_runs (mailing_id, scheduled_for, status, content)"
    " SELECT id, now(), 'completed', CAST(:content AS jsonb) FROM mailings",
    "INSERT INTO addresses (kind, value, attributes)"
    " SELECT 'email', 'r' || i || '@example.com', '{}' FROM generate_series(1, :n) AS i",
    "INSERT INTO deliveries (run_id, address_id, status, updated_at)"
    " SELECT (SELECT id FROM mailing_runs), id, 'delivered', now() - interval '1 hour'"
    " FROM addresses",
]


async def fill(url: str, deliveries: int) -> tuple[int, list[int]]:
    content = {
        "mailing_id": 1, "mailing_name": "bench", "channel": "email", "body": "",
        "options": {"utm": True}, "links": LINKS,
    }  # fmt: skip
    engine = create_engine(url)
    async with engine.begin() as conn:
        for sql in FILL:
            await conn.execute(text(sql), {"content": json.dumps(content), "n": deliveries})
        run_id = (await conn.execute(text("SELECT id FROM mailing_runs"))).scalar_one()
        ids = list((await conn.execute(text("SELECT id FROM deliveries"))).scalars())
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return run_id, ids


async def serve(url: str) -> None:
    """The server process: the tracking routes on the bot's one web server (uvicorn, as
    ``mailforge run`` serves them) with a bare 302 beside them, and the same bare 302 on
    a plain aiohttp server (the earlier web server) for comparison."""
    import logging

    from aiohttp import web

    from bot.tracking import TrackingWeb
    from bot.web import Site, WebServer
    from domain.usecases.tracking import Tracker
    from infrastructure.db import create_session_factory, make_uow_factory

    logging.basicConfig(level=logging.WARNING)
    engine = create_engine(url)
    site = Site()
    tracker = Tracker(make_uow_factory(create_session_factory(engine)), urls(""))
    TrackingWeb(tracker).install(site)

    async def bare_asgi(token: str, scope: object, receive: object, send: Any) -> None:
        headers = [(b"location", LINKS[0].encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    site.fast["/bare/"] = bare_asgi
    server = WebServer(site, "127.0.0.1", 0)
    await server.start()

    async def bare(request: web.Request) -> web.Response:
        raise web.HTTPFound(LINKS[0])

    plain = web.Application()
    plain.router.add_get("/bare/{token}", bare)
    runner = web.AppRunner(plain, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(server.port, runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()


async def counted(url: str) -> int:
    engine = create_engine(url)
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT clicks + bot_clicks FROM run_tracking"))
    await engine.dispose()
    return int(found or 0)


def urls(base: str) -> TrackingUrls:
    return TrackingUrls(Signer(SECRET), base)


async def load(targets: list[str]) -> tuple[float, list[float]]:
    """Requests/s and each request's latency (s), CONCURRENCY at once."""
    queue = list(reversed(targets))
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            while queue:
                target = queue.pop()
                started = time.perf_counter()
                async with http.get(target, allow_redirects=False) as response:
                    assert response.status == 302, response.status
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        took = time.perf_counter() - started
    return len(targets) / took, sorted(latencies)


def describe(label: str, rate: float, latencies: list[float]) -> str:
    p50 = latencies[len(latencies) // 2] * 1000
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    return f"{label}: {rate:,.0f} requests/s · p50 {p50:.1f} ms · p95 {p95:.1f} ms"


async def main() -> None:
    args = bench_args(__doc__, "1,000 deliveries, 400 clicks (the test suite)")
    deliveries, clicks = (1_000, 400) if args.quick else (100_000, 20_000)
    url = await fresh_pg_database(args.pg_url, prefix="mailforge_bench")
    server = None
    try:
        await upgrade(url)
        run_id, ids = await fill(url, deliveries)
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", url, stdout=asyncio.subprocess.PIPE
        )
        assert server.stdout is not None
        ports = (await server.stdout.readline()).split()
        base, plain = (f"http://127.0.0.1:{int(port)}" for port in ports)
        signed = urls(base)
        rng = random.Random(7)
        picks = [(rng.choice(ids), rng.randrange(len(LINKS))) for _ in range(clicks)]
        targets = [signed.click_url(run_id, d, i) for d, i in picks]
        await load(targets[: clicks // 10])  # warm-up: connections, plans, caches
        rate, latencies = await load(targets)
        bare_rate, bare_latencies = await load([f"{base}/bare/x"] * clicks)
        aio_rate, aio_latencies = await load([f"{plain}/bare/x"] * clicks)
        print(
            describe(f"redirect {clicks:,} clicks of {deliveries:,} deliveries", rate, latencies)
        )
        print(describe("bare 302 on the web server (uvicorn)", bare_rate, bare_latencies))
        print(describe("bare 302 on plain aiohttp", aio_rate, aio_latencies))
        print(f"ratio {rate / bare_rate:.2f} of the bare rate; target p95 <= 20 ms")
        total, started = clicks + clicks // 10, time.perf_counter()
        while await counted(url) < total and time.perf_counter() - started < 120:  # noqa: ASYNC110
            await asyncio.sleep(0.5)  # the server counts clicks every 0.2 s, in bulk
        took = time.perf_counter() - started
        print(f"clicks counted: {await counted(url):,} of {total:,}, {took:.1f} s after the load")
    finally:
        if server is not None:
            server.terminate()
            await server.wait()
        await drop_database(url, args.pg_url)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(serve(sys.argv[2]))
    else:
        asyncio.run(main())
