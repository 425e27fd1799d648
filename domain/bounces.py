"""Bounces and complaints: what a message in the bounce mailbox says about a delivery.

Each email leaves with a per-delivery envelope sender (VERP, ``bounces+<token>@domain``):
a bounce comes back to that address, so the signed token in it names the delivery, and
nobody without the secret can make one that names another delivery.

Enhanced status codes (RFC 3463) decide hard or soft: class 5 is permanent, class 4
transient, with two exceptions. ``X.2.2`` (mailbox full) and ``X.3.1`` (mail system
full) say the mailbox exists and may take mail later, so they are soft whatever the
class (RFC 3463 §3.3: "useful for both permanent and persistent transient errors").
``5.7.x`` (policy: spam filters, sender authentication, blocked content) is about the
sender or the content, not the address, so it is soft too: suppressing a working
address because a filter disliked one letter would lose a reader. Except when the
diagnostic says the user does not exist: Yandex answers "550 5.7.1 No such user!".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from domain.signing import Signer

_VERP_PURPOSE = b"mailforge-verp:"
# RFC 5321 §4.5.3.1.1: a local part has at most 64 octets; a token takes at most 30.
LOCAL_PART_LIMIT = 64
TOKEN_LIMIT = 30
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_NO_SUCH_USER = re.compile(
    r"no such (user|mailbox|recipient)|user (unknown|not found)|unknown (user|recipient)|"
    r"does not exist|doesn't exist|invalid (mailbox|recipient)|mailbox (not found|unavailable)|"
    r"нет такого|не существует",
    re.IGNORECASE,
)


class BounceKind(enum.StrEnum):
    hard = "hard"  # the address does not exist or refuses mail for good: suppress it
    soft = "soft"  # for now (mailbox full, greylisting, policy): counted per address
    complaint = "complaint"  # the recipient marked it as spam (ARF): unsubscribe
    not_bounce = "not_bounce"  # an auto-reply, a human answer: left alone
    unknown = "unknown"  # a bounce whose token is missing, forged or unknown
    malformed = "malformed"  # not a readable message


ACTIONABLE = frozenset({BounceKind.hard, BounceKind.soft, BounceKind.complaint})


@dataclass(frozen=True, slots=True)
class BounceReport:
    """One message read from the bounce mailbox, classified."""

    key: str  # identifies the message itself (a digest of its bytes): counted once
    kind: BounceKind
    delivery_id: int | None = None
    status: str | None = None  # enhanced status code, e.g. "5.1.1"
    reason: str = ""  # the remote server's diagnostic, shortened
    recipient: str | None = None  # the failed address as the report names it


def status_kind(status: str | None, *, permanent: bool = True, diagnostic: str = "") -> BounceKind:
    """Hard or soft from an enhanced status code (see the module's docstring); without a
    code, ``permanent`` (the report's own word: Action failed, or a detector's verdict)."""
    found = _STATUS_RE.search(status or "")
    if found is None:
        return BounceKind.hard if permanent else BounceKind.soft
    klass, subject, detail = found.groups()
    if (subject, detail) in {("2", "2"), ("3", "1")} or klass == "4":
        return BounceKind.soft
    if klass == "5" and subject == "7":
        return BounceKind.hard if _NO_SUCH_USER.search(diagnostic) else BounceKind.soft
    return BounceKind.hard if klass == "5" else BounceKind.soft


@dataclass(frozen=True, slots=True)
class SoftStreak:
    """An address's soft bounces in a row: one per mailing run at most."""

    count: int = 0
    run_id: int | None = None  # the latest run whose soft bounce was counted


def next_soft_streak(streak: SoftStreak, run_id: int, *, got_through: bool) -> SoftStreak:
    """The streak after a soft bounce of the address's delivery in run ``run_id``.

    "In a row" means mailing after mailing: a second report about the same run counts
    nothing (an MTA's "delayed" warnings and its final report are one bounce), and a mail
    that got through between the last counted run and this one (delivered, no bounce
    came back: ``got_through``) starts the count again. An open or a click also resets
    it (``SoftStreak()``): the mailbox works. Reports may arrive out of order; the streak
    remembers the latest run."""
    if streak.run_id == run_id:
        return streak
    if streak.count == 0 or streak.run_id is None or got_through:
        return SoftStreak(1, run_id)
    return SoftStreak(streak.count + 1, max(streak.run_id, run_id))


def find_status(text: str) -> str | None:
    """The first enhanced status code in a diagnostic such as "550 5.1.1 user unknown"."""
    found = _STATUS_RE.search(text)
    return ".".join(found.groups()) if found else None


class Verp:
    """Per-delivery envelope senders built on ``BOUNCE_ADDRESS`` (``bounces@example.com``
    gives ``bounces+<token>@example.com``), and the delivery named in a returned one."""

    def __init__(self, signer: Signer, bounce_address: str) -> None:
        local, at, domain = bounce_address.strip().rpartition("@")
        if not at or not local or not domain or "+" in local:
            raise ValueError("must be an address such as bounces@example.com, without a +")
        if len(local) + 1 + TOKEN_LIMIT > LOCAL_PART_LIMIT:
            raise ValueError(f"its local part must be at most {LOCAL_PART_LIMIT - 31} characters")
        self._signer = signer
        self._local, self._domain = local, domain
        self._pattern = re.compile(
            rf"{re.escape(local)}\+([0-9a-z-]{{18,{TOKEN_LIMIT}}})@{re.escape(domain)}",
            re.IGNORECASE,
        )

    def address(self, delivery_id: int) -> str:
        token = self._signer.compact(_VERP_PURPOSE, delivery_id)
        return f"{self._local}+{token}@{self._domain}"

    def token_of(self, delivery_id: int) -> str:
        return self._signer.compact(_VERP_PURPOSE, delivery_id)

    def find(self, texts: Iterable[str]) -> tuple[int | None, bool]:
        """The delivery named by the first genuine VERP address in ``texts``, and whether
        any VERP-shaped address was seen at all (a forged one is still "seen")."""
        seen = False
        for text in texts:
            for match in self._pattern.finditer(text):
                seen = True
                found = self._signer.read_compact(_VERP_PURPOSE, match.group(1), 1)
                if found is not None and found[0] > 0:
                    return found[0], True
        return None, seen
