"""``stat.uni`` of the fake Sendsay account (SENDSAY.md; sendsay-docs basic-stat-uni.md).

``{select, filter: [{a, op, v}], order, first, skip, result: "response"}`` answers
``{"list": [[…], …]}``, each row's values in ``select`` order. One request reads one area
(``deliv.*`` or ``issue.*``; the docs: fields of different events cannot be mixed). Without
``order`` the rows come "each time in a different order" (shuffled here). Issue ids in
filters are strings. Addresses an issue left out (stop-list, unsubscribed…) have no
``deliv`` row; they are counted in the issue's exclusion counters. ``deliv`` rows appear once
the issue's track is done.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from tests.fakes.sendsay_account import EXCLUSIONS, Answer, FakeAccount, Issue, error

ISSUE_FIELDS = frozenset(
    {"issue.id", "issue.name", "issue.dt", "issue.members", "issue.deliv_ok", "issue.deliv_bad"}
    | set(EXCLUSIONS)
)
_OPS = {"==", "!=", ">", ">=", "<", "<="}
_STRING_FILTERS = {"deliv.issue.id", "issue.id"}


class StatUni:
    def __init__(self, account: FakeAccount) -> None:
        self.account = account
        self.name_lookups: defaultdict[str, int] = defaultdict(int)
        self.shuffle = random.Random(7)

    def __call__(self, body: Answer) -> Answer:
        select = body.get("select")
        if not isinstance(select, list) or not select:
            return error("error/stat/select", select)
        areas = {str(name).split(".")[0] for name in select}
        if len(areas) != 1 or areas - {"deliv", "issue"}:
            return error("error/stat/select/areas", select)
        if body.get("result", "response") != "response":
            return error("error/fake/unsupported", body.get("result"))
        area = areas.pop()
        known = self.account.variants.deliv_fields if area == "deliv" else ISSUE_FIELDS
        unknown = [name for name in select if name not in known]
        if unknown:
            return error("error/stat/field", unknown)
        rows = self._deliv_rows() if area == "deliv" else self._issue_rows(body)
        try:
            rows = [row for row in rows if _matches(row, body.get("filter") or [], known)]
        except ValueError as exc:
            return error("error/stat/filter", str(exc))
        order = body.get("order")
        if order:
            for name in reversed(order):
                key = str(name).lstrip("-")
                rows.sort(key=lambda r, k=key: str(r.get(k, "")), reverse=name.startswith("-"))
        else:
            self.shuffle.shuffle(rows)
        skip, first = int(body.get("skip", 0)), body.get("first")
        rows = rows[skip:] if first is None else rows[skip : skip + int(first)]
        return {"list": [[row.get(name) for name in select] for row in rows]}

    def _deliv_rows(self) -> list[dict[str, Any]]:
        rows = []
        for issue in self.account.mass_issues:
            if not issue.done:
                continue
            for email in issue.audience:
                result, reason = self.account.results.get(email, ("1", None))
                if self.account.late.get(email, 0) > 0:
                    self.account.late[email] -= 1
                    result, reason = "0", None
                rows.append(
                    {
                        "deliv.member.email": email,
                        "deliv.issue.id": str(issue.id),
                        "deliv.status": {"1": 1, "0": 0}.get(result, -1),
                        "deliv.result": result,
                        "deliv.error": reason,
                    }
                )
        return rows

    def _issue_rows(self, body: Answer) -> list[dict[str, Any]]:
        names = [f.get("v") for f in body.get("filter") or [] if f.get("a") == "issue.name"]
        for name in names:  # an issue may take a while to show up in the statistics
            self.name_lookups[str(name)] += 1
        return [
            self._issue_row(issue)
            for issue in self.account.mass_issues
            if self.name_lookups[issue.name] > self.account.variants.issue_listed_after
            or issue.name not in map(str, names)
        ]

    @staticmethod
    def _issue_row(issue: Issue) -> dict[str, Any]:
        counters = {c: len(issue.excluded[c]) if issue.done else 0 for c in EXCLUSIONS}
        delivered = len(issue.audience) if issue.done else 0
        return {
            "issue.id": issue.id,
            "issue.name": issue.name,
            "issue.dt": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "issue.members": len(issue.audience) + sum(counters.values()),
            "issue.deliv_ok": delivered,
            "issue.deliv_bad": 0,
            **counters,
        }


def _matches(row: dict[str, Any], filters: list[Any], known: frozenset[str]) -> bool:
    for condition in filters:
        if not isinstance(condition, dict) or set(condition) != {"a", "op", "v"}:
            raise ValueError(f"bad filter {condition!r}")
        name, op, value = condition["a"], condition["op"], condition["v"]
        if name not in known or op not in _OPS:
            raise ValueError(f"bad filter {condition!r}")
        if name in _STRING_FILTERS and not isinstance(value, str):
            raise ValueError(f"{name} takes a string")
        have = str(row.get(name, ""))
        if not _compare(have, op, str(value)):
            return False
    return True


def _compare(have: str, op: str, want: str) -> bool:
    if op == "==":
        return have == want
    if op == "!=":
        return have != want
    pairs = {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}
    return pairs[op]
