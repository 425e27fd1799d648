"""The benchmarks still run: ``bench/import.py --quick`` against the test PostgreSQL.

Figures are printed, never asserted: timings belong to the benchmark, not to the suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.db import pg_admin_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import.py"), "--quick", "--pg-url", pg_admin_url()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("import ")]
    assert len(lines) == 2, result.stdout
    for line in lines:
        assert re.search(r"[\d,]+ rows/s", line), line
        assert re.search(r"peak RSS \d+ MB", line), line
        assert re.search(r"ratio [\d.]+x", line), line


def test_the_delivery_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "delivery.py"),
            "--quick",
            "--pg-url",
            pg_admin_url(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
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


def test_the_export_benchmark_runs_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "export.py"), "--quick", "--pg-url", pg_admin_url()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^stats of a [\d,]+-recipient run: opened in \d+ ms", out, re.M), out
    for fmt in ("csv", "xlsx"):
        assert re.search(
            rf"^export {fmt} [\d,]+ rows: [\d.]+ s, [\d,]+ rows/s, file [\d.]+ MB, "
            r"peak RSS \+\d+ MB, longest event-loop stall \d+ ms",
            out,
            re.M,
        ), out
    assert re.search(r"^bare fetch-all \+ csv .* ratio csv [\d.]+x, xlsx [\d.]+x", out, re.M), out
