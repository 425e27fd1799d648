"""From a table's rows to staging records, batch by batch, rejecting what is not an address.

A record is ``(line, kind, value, *attributes)``; attribute texts go as they are, and the
SQL strips them and drops empty ones, so an empty cell never overwrites what an address
already has. A row with both an email and a Telegram id yields two records with the same
attributes. A bad cell is written to the rejected rows even when the other address of its
row is good (the good one is still imported). ``_convert`` runs once per row of a
million-row file: it is written for speed.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter

from domain.errors import DomainError
from domain.imports import FORMULA, INVALID_EMAIL, NO_ADDRESS
from domain.recipients import AddressKind
from infrastructure.importers.plan import SAMPLE_ROWS, ColumnPlan, plan_columns
from infrastructure.importers.rejected import RejectedLog
from infrastructure.importers.validation import (
    classify,
    normalize_email,
    parse_telegram_id,
    telegram_reason,
)
from infrastructure.importers.xlsx import Formula

Record = tuple[int | str | None, ...]
EMAIL, TELEGRAM = AddressKind.email.value, AddressKind.telegram.value


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A batch allocates tens of thousands of lists and tuples that live until it is staged
    and cannot form cycles; the cyclic GC would walk them over and over (a third of the
    parse time). Paused for one batch's synchronous conversion only, never across an await.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _picker(plan: ColumnPlan) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """Reads a row's attribute values in ``plan.keys`` order, as they are: the database
    strips them and turns empty ones into NULL (set-based, much faster than here)."""
    columns = plan.picked
    if not columns:
        return lambda cells: ()
    if len(columns) == 1:
        only = columns[0]
        get: Callable[[Sequence[str]], tuple[str, ...]] = lambda cells: (cells[only],)  # noqa: E731
    else:
        get = itemgetter(*columns)
    if not plan.compose_name:
        return get
    parts = sum(column is not None for column in (plan.first_name, plan.last_name))

    def with_name(cells: Sequence[str]) -> tuple[str, ...]:
        values = get(cells)
        return (" ".join(v.strip() for v in values[:parts] if v.strip()), *values)

    return with_name


class RecipientReader:
    """Reads the first rows to plan the columns, then converts the rest on demand."""

    def __init__(self, rows: Iterator[list[str]], delimiter: str, rejected: RejectedLog) -> None:
        self._rows = enumerate(rows, start=1)
        self._emails = self._chats = 0
        self._rejected = rejected
        self.rows = 0  # data rows read (header and blank lines excluded)
        self._kinds: Counter[str] = Counter()
        self._head = list(self._first_rows())
        if not self._head:
            raise DomainError("import-empty-file")
        self.plan = plan_columns([[cell.strip() for cell in cells] for _, cells in self._head])
        header: list[str] = []
        if self.plan.header:
            header = self._head.pop(0)[1]
            if not self._head:  # the first rows are read up to 20 non-blank ones: no more
                raise DomainError("import-empty-file")
        rejected.use_columns(_trimmed(header), delimiter)
        self._padding = [""] * self.plan.width
        self._pick = _picker(self.plan)

    @property
    def attributes(self) -> list[str]:
        return list(self.plan.keys)

    @property
    def kinds(self) -> dict[str, int]:
        """Valid records per address kind."""
        counts = {EMAIL: self._emails, TELEGRAM: self._chats, **self._kinds}
        return {kind: count for kind, count in counts.items() if count}

    def _first_rows(self) -> Iterator[tuple[int, list[str]]]:
        found = 0
        for line, cells in self._rows:
            if any(cell.strip() for cell in cells):
                yield line, cells
                found += 1
                if found == SAMPLE_ROWS:
                    return

    def batches(self, size: int) -> Iterator[list[Record]]:
        """Lists of records, one per ``size`` lines read (the last one may be shorter)."""
        head, self._head = self._head, []
        convert = self._convert_untyped if self.plan.untyped is not None else self._convert
        while True:
            with _cyclic_gc_paused():
                chunk = head + list(islice(self._rows, max(size - len(head), 0)))
                head = []
                out: list[Record] = []
                convert(chunk, out)
            if not chunk:
                return
            yield out

    def _convert(self, chunk: list[tuple[int, list[str]]], out: list[Record]) -> None:
        """The hot loop: everything it needs is a local variable."""
        padding, pick, reject, append = self._padding, self._pick, self._reject, out.append
        email_at, chat_at, width = self.plan.email, self.plan.telegram, len(padding)
        rows = emails = chats = 0
        for line, cells in chunk:
            if len(cells) < width:
                cells = cells + padding[len(cells) :]
            email_cell = cells[email_at] if email_at is not None else ""
            chat_cell = cells[chat_at] if chat_at is not None else ""
            email, chat = email_cell.strip(), chat_cell.strip()
            if not email and not chat:
                if isinstance(email_cell, Formula) or isinstance(chat_cell, Formula):
                    rows += 1  # a formula the spreadsheet saved no value for
                    reject(line, cells, FORMULA)
                elif any(cell.strip() for cell in cells):
                    rows += 1
                    reject(line, cells, NO_ADDRESS)
                continue
            rows += 1
            attributes = pick(cells)
            if email:
                value = normalize_email(email)
                if value is None:
                    reject(line, cells, _why(email_cell, INVALID_EMAIL))
                else:
                    append((line, EMAIL, value, *attributes))
                    emails += 1
            if chat:
                value = parse_telegram_id(chat)
                if value is None:
                    reject(line, cells, _why(chat_cell, telegram_reason(chat)))
                else:
                    append((line, TELEGRAM, value, *attributes))
                    chats += 1
        self.rows += rows
        self._emails += emails
        self._chats += chats

    def _convert_untyped(self, chunk: list[tuple[int, list[str]]], out: list[Record]) -> None:
        """A one-column list: each value is an email or a chat id, whichever it looks like."""
        for line, cells in chunk:
            text = cells[0].strip() if cells else ""
            if not text and not any(cell.strip() for cell in cells):
                if cells and isinstance(cells[0], Formula):
                    self.rows += 1
                    self._reject(line, cells, FORMULA)
                continue
            self.rows += 1
            result = classify(text)
            if isinstance(result, str):
                self._reject(line, cells, _why(cells[0], result))
                continue
            kind, value = result
            out.append((line, kind.value, value, *self._pick(cells)))
            self._kinds[kind.value] += 1

    def _reject(self, line: int, cells: list[str], reason: str) -> None:
        # A formula's cell reads as the formula itself: the row as the manager typed it.
        shown = [cell.formula if isinstance(cell, Formula) else cell for cell in cells]
        self._rejected.add(line, _trimmed(shown), reason)


def _why(cell: str, reason: str) -> str:
    """A bad address that a spreadsheet formula made is the formula's fault."""
    return FORMULA if isinstance(cell, Formula) else reason


def _trimmed(cells: list[str]) -> list[str]:
    """Without the padding, or a spreadsheet's empty trailing cells."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]
