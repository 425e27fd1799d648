"""Segments: who of a mailing's lists gets it, by the members' imported fields and tags.

A segment is a small typed tree, never text: conditions (a field, an operator, a value)
joined by "all" or "any". Each typed value is checked and converted where it is typed
(``parse_condition``), so the database only ever sees well-typed values; the field must be
one a chosen list has (``check_fields``). ``infrastructure/db/segments.py`` turns the
tree into SQL expressions for PostgreSQL (``jsonb``) and SQLite (JSON1).

Values in the database are the imported texts: numbers are compared only where the text
is a number, dates where it reads as ``YYYY-MM-DD…`` or ``DD.MM.YYYY``; anything else
does not match (rather than failing the whole count). Tags are the ``tags`` field, a
comma-separated text (an import column named "tags", or added by hand).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

TAGS = "tags"  # the field tags live in
MAX_CONDITIONS = 20
MAX_DAYS = 36_600  # "within the last N days": up to a hundred years
MAX_CHOICES = 50  # "one of": values


class Op(enum.StrEnum):
    equals = "eq"
    not_equals = "ne"
    contains = "has"
    one_of = "in"
    empty = "empty"
    not_empty = "set"
    greater = "gt"
    less = "lt"
    before = "before"
    after = "after"
    within_days = "days"
    birthday_today = "bday"
    has_tag = "tag"


NO_VALUE = frozenset({Op.empty, Op.not_empty, Op.birthday_today})
NUMBER_OPS = frozenset({Op.greater, Op.less})
DATE_OPS = frozenset({Op.before, Op.after})
# The operators offered for an ordinary field (tags have only ``has_tag``).
FIELD_OPS = tuple(op for op in Op if op is not Op.has_tag)


class Match(enum.StrEnum):
    all = "all"
    any = "any"


Value = str | float | int | date | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Value = None

    def to_json(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        return {"field": self.field, "op": self.op.value, "value": value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Condition:
        op = Op(data["op"])
        value = data.get("value")
        if op in DATE_OPS and isinstance(value, str):
            value = date.fromisoformat(value)
        elif op is Op.one_of:
            value = tuple(value or ())
        return cls(str(data["field"]), op, value)


@dataclass(frozen=True, slots=True)
class Segment:
    conditions: tuple[Condition, ...] = ()
    match: Match = Match.all

    @property
    def is_empty(self) -> bool:
        return not self.conditions

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.conditions}

    def adding(self, condition: Condition) -> Segment:
        if len(self.conditions) >= MAX_CONDITIONS:
            raise InvalidInput("segment-too-many", limit=MAX_CONDITIONS)
        return replace(self, conditions=(*self.conditions, condition))

    def without(self, index: int) -> Segment:
        kept = tuple(c for i, c in enumerate(self.conditions) if i != index)
        return replace(self, conditions=kept)

    def switched(self) -> Segment:
        """All ⇄ any."""
        return replace(self, match=Match.any if self.match is Match.all else Match.all)

    def to_json(self) -> dict[str, Any]:
        return {"match": self.match.value, "conditions": [c.to_json() for c in self.conditions]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Segment:
        if not data:
            return cls()
        conditions = tuple(Condition.from_json(c) for c in data.get("conditions") or ())
        return cls(conditions, Match(data.get("match", Match.all.value)))


def parse_condition(field: str, op: Op, text: str | None = None) -> Condition:
    """A condition from what the manager typed; ``InvalidInput`` says what is wrong."""
    field = field.strip()
    if not field:
        raise InvalidInput("segment-field-empty")
    if op is Op.has_tag:
        field = TAGS
    if op in NO_VALUE:
        return Condition(field, op)
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput("segment-value-empty")
    return Condition(field, op, _value(op, raw))


def _value(op: Op, raw: str) -> Value:
    if op in NUMBER_OPS:
        return parse_number(raw)
    if op in DATE_OPS:
        return parse_date(raw)
    if op is Op.within_days:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            raise InvalidInput("segment-days-invalid", value=raw[:40], limit=MAX_DAYS)
        return int(raw)
    if op is Op.one_of:
        choices = tuple(dict.fromkeys(p.strip() for p in re.split(r"[,;\n]", raw) if p.strip()))
        if not choices:
            raise InvalidInput("segment-value-empty")
        if len(choices) > MAX_CHOICES:
            raise InvalidInput("segment-too-many-choices", limit=MAX_CHOICES)
        return choices
    if op is Op.has_tag:
        tag = raw.strip().lower()
        if "," in tag or ";" in tag:
            raise InvalidInput("segment-one-tag")
        return tag
    return raw


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_number(raw: str) -> float:
    text = raw.strip().replace(" ", "")
    if not _NUMBER.fullmatch(text):
        raise InvalidInput("segment-not-a-number", value=raw[:40])
    return float(text.replace(",", "."))


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


def parse_date(raw: str) -> date:
    text = raw.strip()
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise InvalidInput("segment-not-a-date", value=raw[:40])


def check_fields(segment: Segment, known: Collection[str]) -> None:
    """Every field is one of ``known`` (the fields the mailing's lists have); tags always
    exist (a member may have none)."""
    for condition in segment.conditions:
        if condition.field != TAGS and condition.field not in known:
            raise InvalidInput("segment-unknown-field", field=condition.field[:60])


def birthday_days(today: date) -> tuple[str, ...]:
    """The ``MM-DD`` texts whose birthday is ``today``: on 1 March of a year without
    29 February, the people born on 29 February too."""
    days = [today.strftime("%m-%d")]
    if today.month == 3 and today.day == 1:
        leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
        if not leap:
            days.append("02-29")
    return tuple(days)


def local_today(zone: str, now: datetime) -> date:
    """The day it is in ``zone`` (a mailing's time zone) at ``now``: the day "birthday
    today" and "within the last N days" count from."""
    try:
        return now.astimezone(ZoneInfo(zone)).date()
    except (KeyError, ValueError):  # an unknown zone: UTC's day
        return now.date()


def split_tags(text: object) -> list[str]:
    """A member's tags: the ``tags`` field's comma- or semicolon-separated names."""
    if not isinstance(text, str):
        return []
    return [tag.strip().lower() for tag in re.split(r"[,;]", text) if tag.strip()]


def retagged(current: object, tag: str, *, add: bool) -> str:
    """The ``tags`` field with ``tag`` added (once) or removed."""
    tags = [t for t in split_tags(current) if t != tag]
    return ", ".join([*tags, tag] if add else tags)


def parse_tag(text: str) -> str:
    tag = text.strip().lower()
    if not tag:
        raise InvalidInput("segment-value-empty")
    if "," in tag or ";" in tag or len(tag) > 60:
        raise InvalidInput("segment-one-tag")
    return tag
