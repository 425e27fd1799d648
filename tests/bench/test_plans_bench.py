"""``bench/plans.py --quick``: a list imported into a fresh database and launched at once."""

from __future__ import annotations

import re

import pytest

from tests.bench.test_quick_benches import run_quick


@pytest.mark.slow
def test_the_plans_benchmark_runs_and_prints_its_figures() -> None:
    out = run_quick("plans.py", 120)
    assert re.search(
        r"^import 20,000 Telegram ids: [\d.]+ s; the dialog's reachable count \d+ ms, "
        r"the lists' sizes \d+ ms",
        out,
        re.M,
    ), out
    assert re.search(
        r"^launch 20,000 recipients: [\d.]+ s .*; first batch sent [\d.]+ s later; "
        r"slowest of the first \d+ claims \d+ ms, median \d+ ms",
        out,
        re.M,
    ), out
    assert re.search(
        r"^sending over the first 4 s: [\d,]+ msg/s · channel 2,000 msg/s · ratio [\d.]+",
        out,
        re.M,
    ), out
