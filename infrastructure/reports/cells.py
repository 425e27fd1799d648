"""Spreadsheet cells that cannot run: CSV/formula injection (OWASP "CSV Injection").

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or carriage return) as a formula; an address or an error text from the
outside world could then run one on the manager's machine. Such a value is prefixed with
``'``, which spreadsheets show as text. Plain numbers (``-100123``, a Telegram group id)
are left as they are: a spreadsheet reads them as the same number, nothing runs.
Control characters before the formula do not hide it: XLSX cannot hold them and they are
removed (``XlsxReportWriter``), which would leave ``\x01=HYPERLINK(…)`` a live formula, so
the check looks past them.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
# What XLSX cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE): C0 controls but tab, LF, CR.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape_cell(value: str) -> str:
    bare = CONTROL.sub("", value)
    if bare.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(bare):
        return "'" + value
    return value


def clean_cell(value: str) -> str:
    """For XLSX: the control characters removed first, then escaped."""
    return escape_cell(CONTROL.sub("", value))
