"""Workers must stay small: loading the application never imports matplotlib."""

from __future__ import annotations

import subprocess
import sys

CHECK = (
    "import sys, bot.app, bot.cli, infrastructure.reports, handlers.stats\n"
    "assert 'matplotlib' not in sys.modules, sorted(m for m in sys.modules if 'matplot' in m)\n"
    "print('lazy')"
)


def test_matplotlib_is_imported_only_when_a_chart_is_drawn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lazy"
