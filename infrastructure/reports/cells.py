"""Spreadsheet cells that cannot run: CSV/formula injection (OWASP "CSV Injection").

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or carriage return) as a formula; an address or an error text from the
outside world could then run one on the manager's machine. Such a value is prefixed with
``'``, which spreadsheets show as text. Plain numbers (``-100123``, a Telegram group id)
are left as they are: a spreadsheet reads them as the same number, nothing runs.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def escape_cell(value: str) -> str:
    if value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
