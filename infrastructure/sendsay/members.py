"""Turning ``member.list`` rows into flat CSV rows, and spooling them to a CSV file.

Row shapes accepted (we could not confirm the v100 answer format, so all known ones are):

- a string: just the address (seen in a third-party client of the older API);
- a list of values, named by the answer's ``"order"`` (``[{"quest": "email"}, …]``,
  the same client);
- an object, flat (``{"member.email": …, "base.firstName": …}``) or nested by anketa
  (``{"member": {"email": …}, "base": {"firstName": …}}``).

A data column is named after its quest (``base.firstName`` → ``firstName``, our own
``mailforge.first_name`` → ``first_name``, so a list sent through Sendsay comes back with
the placeholders it was sent with); two anketas with the same quest keep both apart
(``base_city``, ``custom_city``). ``member.*`` system fields other than the address are
dropped: they are bookkeeping, not data to personalise a letter with.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

EMAIL_COLUMN = "email"
_EMAIL_KEYS = ("member.email", "email")


def member_row(raw: Any, order: Sequence[Any] | None = None) -> dict[str, str]:
    if isinstance(raw, str | int):
        return {EMAIL_COLUMN: str(raw)}
    if isinstance(raw, list) and order:
        names = [_column_name(column, index) for index, column in enumerate(order)]
        raw = dict(zip(names, raw, strict=False))
    if not isinstance(raw, Mapping):
        return {EMAIL_COLUMN: ""}
    flat = _flatten(raw)
    email = next((flat.pop(key) for key in _EMAIL_KEYS if key in flat), "")
    data = {k: v for k, v in flat.items() if not k.startswith("member.") and k != EMAIL_COLUMN}
    quests = [_quest(key) for key in data]
    return {EMAIL_COLUMN: email, **{_column(key, quests): value for key, value in data.items()}}


def _quest(key: str) -> str:
    return key.rpartition(".")[2]


def _column(key: str, quests: list[str]) -> str:
    """A data key's column: its quest id, unless another anketa has a quest of that id."""
    return _quest(key) if quests.count(_quest(key)) == 1 else key.replace(".", "_")


def _column_name(column: Any, index: int) -> str:
    if isinstance(column, Mapping):
        return str(column.get("quest") or column.get("id") or f"column{index + 1}")
    return str(column)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{name}.")
        elif isinstance(value, list):
            flat[name] = ", ".join(_text(item) for item in value)
        else:
            flat[name] = _text(value)
    return flat


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class CsvSpool:
    """Rows arrive page by page and each may add columns; the CSV header needs them all.

    Pages go to a JSON-lines file first (a group can have millions of members, too many
    to hold in memory), then ``write_csv`` writes ``email,<other columns…>``. The methods
    do blocking file I/O: call them through ``asyncio.to_thread``.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / f".sendsay-{uuid.uuid4().hex}.jsonl"
        self.columns: dict[str, None] = {EMAIL_COLUMN: None}  # an ordered set
        self.rows = 0

    def add(self, rows: Iterable[dict[str, str]]) -> None:
        with self.path.open("a", encoding="utf-8") as spool:
            for row in rows:
                self.columns |= dict.fromkeys(row)
                spool.write(json.dumps(row, ensure_ascii=False) + "\n")
                self.rows += 1

    def write_csv(self, target: Path) -> None:
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(self.columns), restval="")
            writer.writeheader()
            if self.path.exists():
                with self.path.open(encoding="utf-8") as spool:
                    writer.writerows(json.loads(line) for line in spool)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
