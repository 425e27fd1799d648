"""Failure reasons grouped by kind, so a report reads "550 5.1.1 … × 11" instead of one
line per address.

A channel stores each recipient's last error as it came: an SMTP reply (code, RFC 3463
enhanced status, then the server's text, which often names the address), a Bot API
description ("Forbidden: bot was blocked by the user"), a locale key with a detail, or an
exception's text. The kind of an SMTP reply is its code and enhanced status; without an
enhanced status, its code and text. Anything else is its text with what names one
recipient (an address, a quoted value, a long number) taken out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.stats import FailureReason

_SMTP = re.compile(r"^([245]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3}))?(?=\s|$)\s*(.*)$", re.S)
# What names one recipient in a server's or an exception's text.
_ADDRESS = re.compile(
    r"<[^<>\s]*>|[^\s<>'\"(),;:]+@[^\s<>'\"(),;:]+|(?<!\w)'[^']*'(?!\w)|\"[^\"]*\"|\d{5,}"
)
_TELEGRAM = "Telegram server says - "  # aiogram's prefix of a Bot API description
_SPACES = re.compile(r"\s+")
_EDGES = " :;,.-"


def failure_kind(error: str) -> tuple[str, str]:
    """``(key, text)``: errors with the same key are one kind; ``text`` reads it (the
    server's text of an SMTP kind is the first one met, without addresses)."""
    error = error.strip()
    if error.startswith(_TELEGRAM):
        error = error[len(_TELEGRAM) :]
    found = _SMTP.match(error)
    if found is not None:
        code, status, rest = found.groups()
        said = _general(rest)
        head = f"{code} {status}" if status else code
        key = head if status else f"{head} {said}"
        return key, f"{head} {said}".strip()
    text = _general(error)
    return text, text


def _general(text: str) -> str:
    text = _ADDRESS.sub(" ", text)
    text = _SPACES.sub(" ", text)
    # Left-overs of a removed address: "…: : Recipient" → "…: Recipient"
    text = re.sub(r"(?:\s*[:;,]\s*){2,}", ": ", text)
    return text.strip(_EDGES)


class ReasonTally:
    """Counts ``(status, error)`` rows by kind, one row at a time."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._texts: dict[tuple[str, str], str] = {}

    def add(self, status: str, error: str, count: int = 1) -> None:
        key, text = failure_kind(error) if error else ("", "")
        group = (status, key)
        self._counts[group] = self._counts.get(group, 0) + count
        self._texts.setdefault(group, text)

    def top(self, limit: int | None = None) -> list[FailureReason]:
        """The kinds, most common first."""
        counts = self._counts
        ordered = sorted(counts, key=lambda group: (-counts[group], group))[:limit]
        return [FailureReason(group[0], self._texts[group], counts[group]) for group in ordered]


def group_reasons(
    rows: Iterable[tuple[str, str, int]], limit: int | None = None
) -> list[FailureReason]:
    """``(status, error, count)`` rows folded into kinds, most common first."""
    tally = ReasonTally()
    for status, error, count in rows:
        tally.add(status, error, count)
    return tally.top(limit)
