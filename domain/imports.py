"""Importing recipients into a list: what a source yields and what the manager is told.

Parsing and validating files, fetching links and talking to Sendsay are adapters
(``infrastructure/importers``); the rules of who may import where, and what the report
contains, live here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.recipients import AddressKind

# How many rejected rows the chat summary quotes; the full set goes out as a CSV file.
REPORT_SAMPLE_SIZE = 10
# The rejected rows' CSV: ";"-separated, what Excel expects in a Russian locale.
REJECTED_DELIMITER = ";"
# The Bot API lets bots download files up to 20 MB; larger ones must come by link.
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024

# Why a row is rejected (message keys; the bot translates them for the chat and the file).
INVALID_EMAIL = "import-invalid-email"
INVALID_TELEGRAM_ID = "import-invalid-telegram-id"
TELEGRAM_USERNAME = "import-telegram-username"  # "@name" is not a chat id
NO_ADDRESS = "import-no-address"
INVALID_ADDRESS = "import-invalid-address"  # neither an email nor a chat id
FORMULA = "import-formula"  # a spreadsheet formula whose value is not an address
REJECT_REASONS = (
    INVALID_EMAIL,
    INVALID_TELEGRAM_ID,
    TELEGRAM_USERNAME,
    NO_ADDRESS,
    INVALID_ADDRESS,
    FORMULA,
)


@dataclass(frozen=True, slots=True)
class RejectedLabels:
    """The texts of the rejected rows file in the manager's language: its two own column
    names and each reason key's plain text (a key without one is written as it is)."""

    line: str = "line"
    reason: str = "reason"
    reasons: Mapping[str, str] = field(default_factory=dict)

    def text(self, reason: str) -> str:
        return self.reasons.get(reason, reason)


@dataclass(frozen=True, slots=True)
class ImportSource:
    """A local file to import (a chat upload, a downloaded link, a Sendsay export)."""

    path: Path
    filename: str
    sheet: str | None = None  # XLSX: the sheet to read; the first one when None
    labels: RejectedLabels = field(default_factory=RejectedLabels)  # rejected rows file
    # "Update from source": the list's own source again. Members it does not hold are
    # marked gone (``ImportReport.gone``), for the manager to remove or keep.
    sync: bool = False


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # 1-based line (row) number in the file, header included
    raw: str  # the row as it was, cells joined by the file's delimiter
    reason: str  # a message key, e.g. "import-invalid-email"


@dataclass(slots=True)
class ImportReport:
    rows: int = 0  # data rows read (header excluded, blank lines skipped)
    added: int = 0  # new members of the list that will receive mailings
    already_there: int = 0  # were members already
    duplicates: int = 0  # repeated inside the file
    invalid: int = 0  # rejected rows (bad address, no address)
    suppressed: int = 0  # added or kept but unsubscribed/refused: they get nothing
    sample: list[RejectedRow] = field(default_factory=list)  # first rejected rows
    # CSV of every rejected row: line, reason, then the row's own cells under its header
    rejected_file: Path | None = None
    attributes: list[str] = field(default_factory=list)  # extra columns, for placeholders
    kinds: dict[AddressKind, int] = field(default_factory=dict)  # valid rows per kind
    gone: int = 0  # with ``ImportSource.sync``: members the source no longer holds


# Called now and then with the number of rows processed so far.
ProgressCallback = Callable[[int], Awaitable[None]]
