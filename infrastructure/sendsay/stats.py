"""What Sendsay's universal statistics (``stat.uni``) say about a mass send.

Confirmed (SENDSAY.md; sendsay-docs basic-stat-uni.md): ``{select, filter: [{a, op, v}],
order, first, skip, result: "response"}`` → ``{"list": [[…]]}`` with each row's values in
``select`` order; without ``order`` the rows come in a different order each time (so pages
are ordered); issue ids in filters are strings; one request reads one kind of event;
``issue.name`` and ``issue.id`` are issue fields; ``deliv.status`` is what Sendsay's own
examples select; the per-issue exclusion counters (``issue.stoplist`` …) count addresses
that get no ``deliv`` row.

Assumed (third-party production code, or unknown): ``deliv.result`` "1" delivered, "0" not
final, "-1" not delivered, any other code failed with the code kept; ``deliv.error`` as the
reason. ``deliv.status`` and ``deliv.error`` are asked for but never relied upon: should
``stat.uni`` refuse one, the report is read without it. The first rows read in a process
are logged once at INFO, addresses masked, so a live account settles these codes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from domain.delivery import Outcome
from domain.mass_send import MassSendStatus
from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError
from infrastructure.sendsay.reasons import EXCLUSIONS, NOT_DELIVERED, UNKNOWN_RESULT, reason

REPORT_COLUMNS = ["deliv.member.email", "deliv.result"]
OPTIONAL_COLUMNS = ["deliv.status", "deliv.error"]
_EMAIL = re.compile(r"[^\s<>\"',;]+@[^\s<>\"',;]+")

log = logging.getLogger(__name__)


class SendsayStats:
    def __init__(self, client: SendsayClient) -> None:
        self._client = client
        self._optional = list(OPTIONAL_COLUMNS)  # fewer once Sendsay refused one
        self._logged = False

    async def issue_named(self, name: str) -> str | None:
        """The id of the issue called ``name``, or None while statistics do not show it."""
        rows = await self._rows(["issue.id", "issue.name"], "issue.name", name)
        ids = [row["issue.id"] for row in rows if str(row.get("issue.name")) == name]
        return str(ids[-1]) if ids and ids[-1] not in (None, "") else None

    async def exclusions(self, issue: str) -> dict[str, int]:
        """The issue's exclusion counters (``issue.stoplist`` …) by name."""
        rows = await self._rows(list(EXCLUSIONS), "issue.id", issue)
        return {name: _count(rows[0].get(name)) for name in EXCLUSIONS} if rows else {}

    async def deliveries(self, issue: str, offset: int, limit: int) -> list[MassSendStatus]:
        """A page of the issue's ``deliv`` rows, ordered by address."""
        page = {"order": ["deliv.member.email"], "first": limit, "skip": offset}
        while True:
            select = REPORT_COLUMNS + self._optional
            try:
                rows = await self._rows(select, "deliv.issue.id", issue, **page)
                break
            except SendsayError as exc:
                if isinstance(exc, SendsayAuthError | SendsayTransientError) or not self._optional:
                    raise
                dropped = self._optional.pop()
                log.warning("sendsay: stat.uni refused %s (%s); read without it", dropped, exc)
        if rows and not self._logged:
            self._logged = True
            log.info("sendsay: a stat.uni row (select %s): %s", select, masked(rows[0]))
        return [status_of(row) for row in rows]

    async def _rows(
        self, select: list[str], field: str, value: str, **more: Any
    ) -> list[dict[str, Any]]:
        answer = await self._client.request(
            "stat.uni",
            select=select,
            filter=[{"a": field, "op": "==", "v": str(value)}],
            result="response",
            **more,
        )
        rows = answer.get("list") or []
        return [dict(zip(select, row, strict=False)) for row in rows if isinstance(row, list)]


def status_of(row: dict[str, Any]) -> MassSendStatus:
    """One ``deliv`` row as a recipient's status (None: not final yet)."""
    email = str(row.get("deliv.member.email") or "")
    code = "" if row.get("deliv.result") is None else str(row["deliv.result"]).strip()
    if code in ("", "0"):
        return MassSendStatus(email, None)
    if code == "1":
        return MassSendStatus(email, Outcome.delivered)
    error = row.get("deliv.error")
    detail = None if error in (None, "") else str(error)
    if code == "-1":
        return MassSendStatus(email, Outcome.failed, reason(NOT_DELIVERED, detail))
    raw = code if detail is None else f"{code} ({detail})"
    return MassSendStatus(email, Outcome.failed, reason(UNKNOWN_RESULT, raw))


def masked(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without personal data: every address replaced by ``<email>``."""
    return {
        name: _EMAIL.sub("<email>", value) if isinstance(value, str) else value
        for name, value in row.items()
    }


def _count(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        return 0
