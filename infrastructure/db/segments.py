"""A mailing's targeting (``domain.targeting``) as one SQL condition over ``addresses``.

Built from the typed tree with SQLAlchemy expressions, never from text, for PostgreSQL
(``jsonb ->>``) and SQLite (JSON1 ``->>``). Text comparisons ignore case: PostgreSQL's
``lower`` and, on SQLite (whose ``lower`` knows ASCII only), ``mf_casefold``, a Python
function ``engine.py`` registers on every connection. A field is read as text; numbers
and dates are compared only where that text is one (``domain.segments`` says which), so
"abc" in a number field simply does not match.

Equality compares ``lower(attributes ->> 'field')``: the expression PostgreSQL indexes for
fields that saved segments use (``segment_index.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from domain.local_time import Release
from domain.runs import DeliveryStatus
from domain.segments import Condition, Match, Op, Segment, birthday_days
from domain.targeting import Targeting
from infrastructure.db.base import UTCDateTime
from infrastructure.db.models import (
    AddressRow,
    DeliveryRow,
    DeliveryTrackingRow,
    ListMemberRow,
    MailingRunRow,
)

Clause = ColumnElement[bool]


class Compiler:
    """Conditions for one backend (``postgresql`` or ``sqlite``) on one day (``today``:
    "birthday today", "within the last N days")."""

    def __init__(self, dialect: str, today: date) -> None:
        self._pg = dialect == "postgresql"
        self._today = today

    # -- what a field's text is --------------------------------------------------------
    def text(self, name: str) -> ColumnElement[Any]:
        if self._pg:
            # The name inline (quoted by the dialect), not a parameter: PostgreSQL matches
            # an expression index (segment_index.py) only against the same constant.
            key = bindparam(None, name, type_=String, literal_execute=True)
            return AddressRow.attributes.op("->>")(key)
        # SQLite: ->> gives numbers as numbers; as text they compare like PostgreSQL's.
        return cast(AddressRow.attributes.op("->>")(literal("$." + _quoted(name))), String)

    def folded(self, name: str) -> ColumnElement[Any]:
        return self._fold(self.text(name))

    def _fold(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.lower(value) if self._pg else func.mf_casefold(value)

    def _matches(self, value: ColumnElement[Any], regex: str, glob: str) -> Clause:
        return value.op("~")(regex) if self._pg else value.op("GLOB")(glob)

    def number(self, name: str) -> ColumnElement[Any]:
        text = func.replace(func.trim(self.text(name)), ",", ".")
        looks: Clause
        if self._pg:
            # The pattern reads the raw text (spaces around, a comma or a dot): trimming
            # and replacing only the numbers' text cut the condition's cost on 1,000,000
            # members from ~1.0 to ~0.7 s (bench/segments.py, issue 21).
            looks = self.text(name).op("~")(r"^ *[-+]?[0-9]+([.,][0-9]+)? *$")
            return case((looks, cast(text, Numeric)), else_=None)
        # No regular expressions in SQLite: only signs, digits and one dot, and a digit.
        looks = and_(
            func.ltrim(text, "+-").op("NOT GLOB")("*[^0-9.]*"),
            text.op("GLOB")("*[0-9]*"),
            func.length(text) - func.length(func.replace(text, ".", "")) <= 1,
        )
        return case((looks, cast(text, Float)), else_=None)

    def iso_date(self, name: str) -> ColumnElement[Any]:
        """``YYYY-MM-DD`` from ``YYYY-MM-DD…`` or ``DD.MM.YYYY`` (or ``DD/MM/YYYY``)."""
        text = func.trim(self.text(name))
        iso = self._matches(
            text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
        )
        dotted = self._matches(
            text,
            r"^[0-9]{2}[./][0-9]{2}[./][0-9]{4}",
            "[0-9][0-9][./][0-9][0-9][./][0-9][0-9][0-9][0-9]*",
        )
        day_first = (
            func.substr(text, 7, 4) + "-" + func.substr(text, 4, 2) + "-" + func.substr(text, 1, 2)
        )
        return case((iso, func.substr(text, 1, 10)), (dotted, day_first), else_=None)

    def release(self, release: Release) -> ColumnElement[Any]:
        """Each row's release instant: by its zone field's folded value, else the
        default's (local time, ``domain.local_time``)."""
        default = literal(release.default, UTCDateTime())
        if release.field is None or not release.by_value:
            return default
        key = self._fold(func.trim(self.text(release.field)))
        whens = {value: literal(at, UTCDateTime()) for value, at in release.by_value.items()}
        return case(whens, value=key, else_=default)

    # -- conditions --------------------------------------------------------------------
    def condition(self, c: Condition) -> Clause:
        return _OPS[c.op](self, c)

    def segment(self, segment: Segment) -> Clause | None:
        if segment.is_empty:
            return None
        parts = [self.condition(c) for c in segment.conditions]
        return and_(*parts) if segment.match is Match.all else or_(*parts)

    def targeting(self, targeting: Targeting | None) -> Clause | None:
        """The whole condition, or None when it selects everyone."""
        if targeting is None or targeting.is_everyone:
            return None
        parts: list[Clause] = []
        chosen = self.segment(targeting.segment)
        if chosen is not None:
            parts.append(chosen)
        left_out = self.segment(targeting.exclude_segment)
        if left_out is not None:
            parts.append(not_(func.coalesce(left_out, false())))
        if targeting.exclude_lists:
            # An alias: the statements around this one read list_members too, and would
            # swallow the table into a correlation.
            excluded = aliased(ListMemberRow)
            members = select(excluded.address_id).where(
                excluded.list_id.in_(targeting.exclude_lists)
            )
            parts.append(AddressRow.id.not_in(members))
        if targeting.exclude_got:
            parts.append(~_delivered_in(targeting.exclude_got))
        if targeting.exclude_clicked:
            parts.append(~_clicked_in(targeting.exclude_clicked))
        return and_(*parts) if parts else None

    # -- operators ---------------------------------------------------------------------
    def _equals(self, c: Condition) -> Clause:
        return self.folded(c.field) == str(c.value).casefold()

    def _not_equals(self, c: Condition) -> Clause:
        # A member without the field is "not equal" too.
        return func.coalesce(self.folded(c.field), "") != str(c.value).casefold()

    def _contains(self, c: Condition) -> Clause:
        return self.folded(c.field).contains(str(c.value).casefold(), autoescape=True)

    def _one_of(self, c: Condition) -> Clause:
        assert isinstance(c.value, tuple)
        return self.folded(c.field).in_([v.casefold() for v in c.value])

    def _empty(self, c: Condition) -> Clause:
        return func.coalesce(func.trim(self.text(c.field)), "") == ""

    def _not_empty(self, c: Condition) -> Clause:
        return func.coalesce(func.trim(self.text(c.field)), "") != ""

    def _greater(self, c: Condition) -> Clause:
        return self.number(c.field) > _number(c.value)

    def _less(self, c: Condition) -> Clause:
        return self.number(c.field) < _number(c.value)

    def _before(self, c: Condition) -> Clause:
        assert isinstance(c.value, date)
        return self.iso_date(c.field) < c.value.isoformat()

    def _after(self, c: Condition) -> Clause:
        assert isinstance(c.value, date)
        return self.iso_date(c.field) > c.value.isoformat()

    def _within_days(self, c: Condition) -> Clause:
        assert isinstance(c.value, int)
        since = self._today - timedelta(days=c.value)
        day = self.iso_date(c.field)
        return and_(day >= since.isoformat(), day <= self._today.isoformat())

    def _birthday_today(self, c: Condition) -> Clause:
        return func.substr(self.iso_date(c.field), 6, 5).in_(birthday_days(self._today))

    def _has_tag(self, c: Condition) -> Clause:
        # ",vip,new," contains ",vip,": tags are separated by commas or semicolons.
        tags = func.replace(func.replace(self.folded(c.field), ";", ","), " ", "")
        padded = literal(",") + tags + literal(",")
        return padded.contains("," + str(c.value).replace(" ", "") + ",", autoescape=True)


_OPS: dict[Op, Callable[[Compiler, Condition], Clause]] = {
    Op.equals: Compiler._equals,
    Op.not_equals: Compiler._not_equals,
    Op.contains: Compiler._contains,
    Op.one_of: Compiler._one_of,
    Op.empty: Compiler._empty,
    Op.not_empty: Compiler._not_empty,
    Op.greater: Compiler._greater,
    Op.less: Compiler._less,
    Op.before: Compiler._before,
    Op.after: Compiler._after,
    Op.within_days: Compiler._within_days,
    Op.birthday_today: Compiler._birthday_today,
    Op.has_tag: Compiler._has_tag,
}


def _number(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def _quoted(name: str) -> str:
    """A JSON path member, quoted: field names may hold spaces and dots."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _delivered_in(mailing_ids: tuple[int, ...]) -> Clause:
    """The address got one of the mailings (a real run, delivered)."""
    got = aliased(DeliveryRow)  # the snapshot inserts into deliveries
    return exists(
        select(true())
        .select_from(got)
        .join(MailingRunRow, MailingRunRow.id == got.run_id)
        .where(
            got.address_id == AddressRow.id,
            got.status == DeliveryStatus.delivered.value,
            MailingRunRow.mailing_id.in_(mailing_ids),
            MailingRunRow.is_test.is_(false()),
        )
    )


def _clicked_in(mailing_ids: tuple[int, ...]) -> Clause:
    got = aliased(DeliveryRow)
    return exists(
        select(true())
        .select_from(got)
        .join(MailingRunRow, MailingRunRow.id == got.run_id)
        .join(DeliveryTrackingRow, DeliveryTrackingRow.delivery_id == got.id)
        .where(
            got.address_id == AddressRow.id,
            DeliveryTrackingRow.clicked_at.is_not(None),
            MailingRunRow.mailing_id.in_(mailing_ids),
            MailingRunRow.is_test.is_(false()),
        )
    )
