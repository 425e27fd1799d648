"""The command line every PostgreSQL bench shares: ``--quick`` and ``--pg-url``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def bench_args(
    doc: str | None,
    quick_help: str,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """``--quick`` (small sizes, run by the test suite) and ``--pg-url`` (the server where a
    throw-away database is created; ``BENCH_PG_URL`` or the local server by default), plus
    whatever ``extra`` adds."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL))
    if extra is not None:
        extra(parser)
    return parser.parse_args()
