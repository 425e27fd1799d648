"""The benchmarks still run (``--quick``) against the test PostgreSQL (and Redis).

Figures are printed, never asserted: timings belong to the benchmark, not to the suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.db import pg_admin_url
from tests.support.redis import PREFIX, REDIS_URL

pytestmark = pytest.mark.slow  # each runs a bench script in a process

ROOT = Path(__file__).resolve().parents[2]


def run_quick(script: str, timeout: float, *extra: str) -> str:
    """``bench/<script> --quick`` against the test server; its standard output."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / script),
            "--quick",
            "--pg-url",
            pg_admin_url(),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_import_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("import.py", 60)
    lines = [line for line in out.splitlines() if line.startswith("import ")]
    assert len(lines) == 2, out
    for line in lines:
        assert re.search(r"[\d,]+ rows/s", line), line
        assert re.search(r"peak RSS \d+ MB", line), line
        assert re.search(r"ratio [\d.]+x", line), line
    resyncs = [line for line in out.splitlines() if "update from source" in line]
    assert len(resyncs) == 2 and all(re.search(r"marked gone [1-9]", r) for r in resyncs), out
    floors = [line for line in out.splitlines() if line.startswith("  floor: ")]
    assert len(floors) == 2 and all(re.search(r"ratio [\d.]+x at best", f) for f in floors), out


def test_the_import_benchmark_prints_where_the_time_goes() -> None:
    out = run_quick("import.py", 60, "--phases", "--sizes", "2000")
    phases = [line for line in out.splitlines() if re.search(r"client +[\d.]+ +server", line)]
    copy = [line for line in phases if "COPY into import_rows" in line]
    assert copy and any("insert addresses + members" in line for line in phases), out
    assert sum(line.lstrip().startswith("total ") for line in phases) == 2, out  # and resync


def test_the_workbook_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("workbook.py", 300)
    lines = [line for line in out.splitlines() if line.startswith("workbook ")]
    assert len(lines) == 2, out
    assert "refused (import-xlsx-packed" in lines[0], out
    assert "100,001 rows read" in lines[1], out
    for line in lines:
        assert re.search(r"peak RSS \d+ MB \(before \d+ MB, \+\d+ MB\)", line), line


def test_the_delivery_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("delivery.py", 300)
    for label in ("email:", "telegram (no limit):"):
        line = next((x for x in out.splitlines() if x.startswith(label)), None)
        assert line is not None, out
        assert re.search(r"engine [\d,]+ msg/s · bare [\d,]+ msg/s · ratio [\d.]+", line), line
    assert re.search(r"^telegram \(fake limit 30/s\): [\d.]+ msg/s at the fake", out, re.M), out
    assert re.search(r"^launch [\d,]+ recipients: snapshot [\d.]+ s", out, re.M), out
    assert re.search(
        r"^worker RSS: peak \d+ MB at [\d,]+ sent, \d+ MB at [\d,]+ sent", out, re.M
    ), out
    assert re.search(r"^/start while sending: p95 \d+ ms", out, re.M), out


@pytest.mark.timeout(600)  # three `mailforge run` processes start on a loaded machine
def test_the_end_to_end_delivery_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("delivery.py", 600, "--e2e")
    for label in ("telegram free (30/s)", "telegram fast (paid, 1000/s)"):
        assert re.search(
            rf"^e2e {re.escape(label)}: steady [\d.,]+ msg/s = [\d.]+ of the configured rate · "
            r"bare paced loop [\d.,]+ msg/s = [\d.]+ · first delivery [\d.]+ s after Launch",
            out,
            re.M,
        ), out
    cpu = r"^  CPU per message: the bot process \d+ µs, the fake Bot API \d+ µs · the bare loop"
    assert len(re.findall(cpu, out, re.M)) == 2, out
    assert re.search(r"^  paid sends [\d,]+, charged [\d.]+ Stars", out, re.M), out
    assert re.search(
        r"^e2e email: steady [\d,]+ msg/s · bare aiosmtplib pool of 8 [\d,]+ msg/s \(the same "
        r"letters\) · ratio [\d.]+",
        out,
        re.M,
    ), out
    each = (
        r"^    [\d.]+ \([\d,]+/[\d,]+\) · CPU \d+/\d+ µs, fake \d+/\d+ µs, PostgreSQL "
        r"(\d+/\d+ µs|n/a)[^·]* · idle [\d.]+/"
    )
    assert re.search(each, out, re.M), out
    assert re.search(r"^e2e 429 storm .*: [\d.]+ msg/s over 300/300 recipients", out, re.M), out
    assert re.search(
        r"^e2e kill -9 .*: \d+ were in flight; the last of them reached .* duplicates \d+, "
        r"lost 0",
        out,
        re.M,
    ), out
    assert re.search(
        r"^e2e 20,000 ids imported into a fresh database in [\d.]+ s, ticked in [\d.]+ s",
        out,
        re.M,
    ), out


def test_the_export_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("export.py", 300)
    assert re.search(r"^stats of a [\d,]+-recipient run: opened in \d+ ms", out, re.M), out
    for fmt in ("csv", "xlsx"):
        assert re.search(
            rf"^export {fmt} [\d,]+ rows: [\d.]+ s, [\d,]+ rows/s, file [\d.]+ MB, "
            r"peak RSS \+\d+ MB, longest event-loop stall \d+ ms",
            out,
            re.M,
        ), out
    assert re.search(r"^bare fetch-all \+ csv .* ratio csv [\d.]+x, xlsx [\d.]+x", out, re.M), out


def test_the_scale_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("scale.py", 300)
    assert re.search(r"^fill: 100,000 delivery rows across 10 runs in [\d.]+ s", out, re.M), out
    assert re.search(
        r"^retention: 90,000 of [\d,]+ rows \(\d+%\) of 9 runs deleted in [\d.]+ s "
        r"\([\d,]+ rows/s",
        out,
        re.M,
    ), out
    assert re.search(r"^sender during the purge: .* max [\d.]+ ms; alone: ", out, re.M), out
    header = next(line for line in out.splitlines() if "empty table" in line)
    assert "100,000 rows" in header and "after the purge" in header, out
    for label in ("claim a batch", "write a batch's results", "open a run's statistics"):
        line = next((x for x in out.splitlines() if x.startswith(label)), None)
        assert line is not None, out
        assert len(re.findall(r"p50 +[\d.]+ ms · p95 +[\d.]+ ms", line)) == 3, line


@pytest.mark.timeout(300)  # five processes start on a possibly loaded machine
def test_the_scale_out_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("scale_out.py", 300, "--redis-url", REDIS_URL, "--redis-prefix", PREFIX)
    assert re.search(
        r"^scale-out: 3 workers at 30 msg/s: [\d.]+ msg/s at the fake over 150 recipients; "
        r"busiest 1-s window \d+ \(limit 30\); 429 answered \d+",
        out,
        re.M,
    ), out
    assert re.search(r"duplicates \d+, lost \d+", out), out


@pytest.mark.slow
def test_the_bounce_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bounces.py"), "--quick"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"^classify 500 bounces: [\d,]+ msg/s \(complaint", result.stdout, re.M)
    assert re.search(
        r"^bare email \+ flufl.bounce: [\d,]+ msg/s · ratio [\d.]+", result.stdout, re.M
    )


@pytest.mark.slow
def test_the_redirect_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("redirect.py", 300)
    labels = (
        "redirect 400 clicks of 1,000 deliveries",
        r"bare 302 on the web server \(uvicorn\)",
        "bare 302 on plain aiohttp",
    )
    for label in labels:
        assert re.search(
            rf"^{label}: [\d,]+ requests/s · p50 [\d.]+ ms · p95 [\d.]+ ms", out, re.M
        ), out
    assert re.search(r"^clicks counted: 440 of 440", out, re.M), out


def test_the_api_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("api.py", 300)
    assert re.search(r"^members via API: [\d,]+ members/s .* ratio [\d.]+", out, re.M), out
    for label in ("idle", "while sending"):
        assert re.search(rf"GET /runs/{{id}} {label}: [\d,]+ calls · p50 [\d.]+ ms · p95", out), (
            out
        )
    assert re.search(r"run completed: [\d,]+ delivered", out), out
