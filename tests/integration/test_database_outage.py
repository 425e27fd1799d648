"""A database outage does not stop sending: a ``mailforge worker`` process whose
PostgreSQL is stopped mid-run and started again resumes by itself, completes the run with
nobody lost or sent twice, and its ``/healthz`` turns healthy again.

A private PostgreSQL cluster (``tests.support.pg_cluster``), so stopping it disturbs no
other test; a real worker process; the fake Bot API.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from infrastructure.db import create_engine
from infrastructure.db.migrate import upgrade
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.test_crash_safety import (
    counts_per_chat,
    delivery_statuses,
    launch_now,
    prepare_mailing,
    process_env,
    spawn,
    uow_of,
    wait_completed,
    wait_until,
)
from tests.integration.test_worker_probes import LISTENING, get
from tests.support.db import fresh_pg_database
from tests.support.pg_cluster import private_cluster

pytestmark = pytest.mark.slow  # its own PostgreSQL cluster and a worker process

CHATS = list(range(700_001, 701_001))  # 1,000 recipients


async def health(base: str) -> tuple[int, dict[str, object]]:
    try:
        status, body = await get(base + "/healthz")
    except OSError:
        return 0, {}
    return status, json.loads(body)


async def wait_health(base: str, wanted: int, within: float) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        status, body = await health(base)
        if status == wanted:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"/healthz stayed {status} {body}, not {wanted}")
        await asyncio.sleep(0.2)


@pytest.mark.timeout(300)  # initdb, a worker process and an outage on a loaded machine
async def test_a_worker_resumes_by_itself_after_postgresql_was_stopped_mid_run(
    tmp_path: Path,
) -> None:
    async with private_cluster() as pg, FakeBotAPI() as api:
        url = await fresh_pg_database(pg.url)
        await upgrade(url)
        engine = create_engine(url)
        mailing_id = await prepare_mailing(uow_of(engine), CHATS)
        api.delay = 0.02  # a run of several seconds: the outage falls in its middle
        log = tmp_path / "worker.log"
        # The lease only bounds a claim whose commit the outage swallowed unanswered.
        env = process_env(api, url, DELIVERY_LEASE_SECONDS="20", TELEGRAM_RATE="300")
        proc = await spawn("worker", env, tmp_path, log)
        try:
            await wait_until(lambda: "MailForge worker runs" in log.read_text(), 60, "start")
            found = LISTENING.search(log.read_text())
            assert found, log.read_text()[-2000:]
            base = f"http://127.0.0.1:{found.group(1)}"
            run_id = await launch_now(engine, mailing_id)
            await wait_until(lambda: api.sent_count() >= 200, 60, "sending under way")
            await engine.dispose()
            await pg.stop()
            stopped_at = api.sent_count()
            down = await wait_health(base, 503, 30)
            assert down["checks"] == {"database": "unreachable", "workers": "ok"}
            await asyncio.sleep(4)  # every step of the loop fails a few times meanwhile
            assert proc.returncode is None
            await pg.start()
            run = await wait_completed(engine, run_id, 120)
            up = await wait_health(base, 200, 30)
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
            statuses = await delivery_statuses(engine, run_id)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await engine.dispose()
    text = log.read_text()
    assert stopped_at < len(CHATS), "the outage came after the run: nothing was tested"
    assert up == {"status": "ok", "checks": {"database": "ok", "workers": "ok"}}
    per_chat = counts_per_chat(api, CHATS)
    assert [chat for chat, n in per_chat.items() if n != 1] == []  # nobody lost or doubled
    assert run.totals.delivered == len(CHATS)
    assert statuses == {"delivered": len(CHATS)}
    assert "A delivery worker crashed" not in text
    # The outage is met by the main loop (a claim fails) or, when the loop was waiting on
    # a batch's record at that moment, by the record's own retry; either says it is back.
    assert "database answers again" in text or "after the database came back" in text
    assert code == 0
