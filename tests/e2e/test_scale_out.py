"""Scale-out: the bot (``WORKERS=0``) and three real ``python -m bot worker`` processes
share one fresh PostgreSQL database and one Redis, and send a 6,000-recipient Telegram
mailing through the fake Bot API (in a process of its own), which enforces the same
global limit as ``TELEGRAM_RATE``. Every recipient gets the message exactly once, every
delivery row ends delivered, and the workers keep the limit together (through
``RedisRateLimiter``): no 1-second window at the fake holds more than the limit, the fake
hardly ever has to answer 429, and after each 429 nothing arrives until its retry_after
has run out.

``TELEGRAM_RATE`` is 600/s rather than Telegram's 30/s to keep the test short. The set-up
is ``bench/scale_out.py`` (at 30/s by default), run here as a program, as a user runs it:
the tests never import the benches (an import-linter contract).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.db import pg_admin_url
from tests.support.redis import PREFIX, REDIS_URL

pytestmark = pytest.mark.slow  # worker processes on a shared queue

RECIPIENTS = 6_000
RATE = 600  # messages/s: TELEGRAM_RATE of every process, and the fake's limit
PROCESSES = 3
ROOT = Path(__file__).resolve().parents[2]


# 6,000 messages through five processes: 10 s of sending at the limit, a minute or more
# on a loaded machine; the limit below only guards against a hang.
@pytest.mark.timeout(900)
def test_three_worker_processes_share_the_telegram_limit(tmp_path: Path) -> None:
    figures = tmp_path / "scale_out.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale_out.py"),
            *("--recipients", str(RECIPIENTS), "--rate", str(RATE)),
            *("--processes", str(PROCESSES), "--pg-url", pg_admin_url()),
            *("--redis-url", REDIS_URL, "--redis-prefix", PREFIX, "--json", str(figures)),
        ],
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    print("\n" + done.stdout)
    result = json.loads(figures.read_text())

    # Nobody twice, nobody lost, every delivery row delivered.
    assert (result["duplicates"], result["lost"]) == (0, 0)
    assert result["statuses"] == {"delivered": RECIPIENTS}
    assert result["run_status"] == "completed"
    assert result["delivered_total"] == RECIPIENTS
    # Every worker process took part (so the limit below was shared, not one process's).
    assert all(n > 0 for n in result["sent_by_process"]), result["sent_by_process"]

    # The limit held in every 1-second window at the fake, and the workers kept it
    # themselves: the fake hardly had to refuse (each 429 stops everyone for a second),
    # and after each 429 no new request arrived until its retry_after was over.
    report = result["report"]
    assert report["accepted"] == RECIPIENTS
    assert report["busiest_second"] <= RATE
    assert max(report["per_second"]) <= RATE
    assert report["throttled"] <= RECIPIENTS // 100
    assert report["violations"] == 0
