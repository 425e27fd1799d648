"""Workers must stay small: loading the application never imports the heavy libraries
that only a chart, a report or a spreadsheet import needs (matplotlib, openpyxl, and the
numpy and Pillow they pull in), nor FastAPI, which only a bot with ``API_ENABLED`` needs
(``bot.app.build_api_app``); each is imported where it is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # imports the app afresh in a process

HEAVY = ("matplotlib", "openpyxl", "numpy", "PIL", "fastapi")
CHECK = (
    "import sys, bot.app, bot.cli, bot.runner, infrastructure.reports, handlers.stats\n"
    "import infrastructure.importers\n"
    f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
    "assert not loaded, loaded\n"
    "print('lazy')"
)


def test_heavy_libraries_are_imported_only_when_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lazy"
