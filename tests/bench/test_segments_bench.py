"""``bench/segments.py --quick`` still runs and prints its figures (never asserted)."""

from __future__ import annotations

import re

import pytest

from tests.bench.test_quick_benches import run_quick

pytestmark = pytest.mark.slow  # runs the bench script in a process


def test_the_segments_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("segments.py", 300)
    assert re.search(r"^count everyone \(baseline\): [\d.]+ s$", out, re.M), out
    for label in ("city = (indexed)", "city = (not indexed)", "age > 60 (number)"):
        line = next((x for x in out.splitlines() if x.startswith(f"count {label}:")), None)
        assert line is not None, out
        assert re.search(r"[\d.]+ s · [\d,]+ found · ratio [\d.]+x", line), line
    assert re.search(r"^snapshot age > 0 \(all match\): .* ratio [\d.]+x$", out, re.M), out
