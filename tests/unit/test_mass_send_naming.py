"""A big run sent as one provider issue has one name, "mass send" (issue 18, point 7): no
name in the code calls it "bulk" again. Kept: the names databases hold
(``mailing_runs.bulk_state`` and ``bulk_due_at``, mapped as they are); the variable
``SENDSAY_BULK_THRESHOLD`` is a string, not a name."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "bot", "handlers", "infrastructure")
PERSISTED = {"bulk_state", "bulk_due_at"}  # columns: renaming them needs a migration


def _names(path: Path) -> set[str]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {token.string for token in tokens if token.type == tokenize.NAME}


def test_no_name_in_the_code_calls_a_mass_send_bulk() -> None:
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _names(path)
        if "bulk" in name.lower() and name not in PERSISTED
    }
    files = {p.relative_to(ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*bulk*")}
    assert not found, sorted(found)
    assert not files, sorted(map(str, files))
