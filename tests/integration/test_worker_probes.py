"""``mailforge worker`` processes answer ``/healthz`` and ``/metrics`` on ``WEB_PORT`` (so
Compose or Kubernetes can probe them), and a taken port stops them with one clear line."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.bot_api import FakeBotAPI
from tests.integration.test_cli import mailforge
from tests.integration.test_crash_safety import process_env, spawn, wait_until
from tests.support.db import sqlite_url

pytestmark = pytest.mark.slow  # runs a worker process

LISTENING = re.compile(r"Web server listens on 127\.0\.0\.1:(\d+)")


async def get(url: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        session.get(url) as response,
    ):
        return response.status, await response.text()


async def test_a_worker_process_serves_healthz_and_metrics(
    tmp_path: Path, migrated_pg_url: str
) -> None:
    log = tmp_path / "worker.log"
    async with FakeBotAPI() as api:
        proc = await spawn("worker", process_env(api, migrated_pg_url), tmp_path, log)
        try:
            await wait_until(
                lambda: "MailForge worker runs" in log.read_text(), 60, "the worker started"
            )
            found = LISTENING.search(log.read_text())
            assert found, log.read_text()[-2000:]
            base = f"http://127.0.0.1:{found.group(1)}"
            health, health_body = await get(base + "/healthz")
            metrics, metrics_body = await get(base + "/metrics")
            unsubscribe, _ = await get(base + "/unsubscribe/anything")
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert (health, json.loads(health_body)) == (
        200,
        {"status": "ok", "checks": {"database": "ok", "workers": "ok"}},  # no scheduler here
    )
    assert metrics == 200
    names = {f.name for f in text_string_to_metric_families(metrics_body)}
    assert {"mailforge_database_up", "mailforge_messages", "mailforge_queue_depth"} <= names
    assert "mailforge_telegram_retry_after" in names
    assert unsubscribe == 404  # the bot's pages live in the bot process only
    assert code == 0


async def test_a_taken_web_port_stops_the_worker_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeBotAPI() as api:
            env = process_env(api, sqlite_url(tmp_path / "w.db"), WEB_PORT=str(port))
            code, out, err = await mailforge("worker", env=env, cwd=tmp_path)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("mailforge:")]
    assert lines == [
        f"mailforge: configuration error: WEB_PORT: 127.0.0.1:{port} is already in use "
        "(another MailForge process? give each process its own WEB_PORT, or 0 for any free port)"
    ]
    assert "Traceback" not in err + out
