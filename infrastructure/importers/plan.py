"""Deciding, from the first rows, whether there is a header and what each column holds."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import DomainError
from infrastructure.importers.headers import Role, attribute_key, header_roles, unique_keys
from infrastructure.importers.validation import normalize_email, parse_telegram_id

SAMPLE_ROWS = 20  # non-blank rows looked at before reading the rest


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    header: bool  # the first non-blank row is a header, not data
    email: int | None = None
    telegram: int | None = None
    untyped: int | None = None  # a one-column list: each value is an email or a chat id
    name: int | None = None
    first_name: int | None = None
    last_name: int | None = None
    extra: tuple[int, ...] = ()  # every other column, stored as an attribute
    keys: tuple[str, ...] = ()  # attribute keys: ("name", ...) then one per extra column

    @property
    def compose_name(self) -> bool:
        """No whole-name column, but first and/or last names: ``name`` is made of them."""
        return self.name is None and (self.first_name is not None or self.last_name is not None)

    @property
    def picked(self) -> tuple[int, ...]:
        """The columns read for the attributes, in the order of ``keys`` (bar a composed
        ``name``, which comes first and is made of the first and last names)."""
        named = (self.name, self.first_name, self.last_name)
        return (*(column for column in named if column is not None), *self.extra)

    @property
    def width(self) -> int:
        """How many cells a row must have for every column of the plan to be read."""
        used = (self.email, self.telegram, self.untyped, *self.picked)
        return 1 + max((column for column in used if column is not None), default=0)


def plan_columns(sample: list[list[str]]) -> ColumnPlan:
    """``sample``: the first non-blank rows, cells stripped; at least one row."""
    first = sample[0]
    width = max(len(row) for row in sample)
    roles = header_roles(first)
    if Role.email in roles or Role.telegram in roles:
        return _build(first, width, roles, header=True)
    header = not _looks_like_data(first, width)
    data = sample[1:] if header else sample
    if width == 1 and not roles:
        return ColumnPlan(header=header, untyped=0)
    email = _email_column_by_content(data, width)
    if email is None:
        found = ", ".join(cell for cell in first if cell) if header else ""
        raise DomainError("import-no-address-column", columns=found[:300])
    return _build(first if header else [], width, {**roles, Role.email: email}, header=header)


def _looks_like_data(row: list[str], width: int) -> bool:
    """A first row holding something address-like is data: there is no header."""
    if any("@" in cell for cell in row):
        return True
    return width == 1 and parse_telegram_id(row[0]) is not None


def _email_column_by_content(rows: list[list[str]], width: int) -> int | None:
    best, best_count = None, 0
    for column in range(width):
        values = [row[column] for row in rows if column < len(row) and row[column]]
        count = sum(1 for value in values if normalize_email(value) is not None)
        if count > best_count and count * 2 >= len(values):
            best, best_count = column, count
    return best


def _build(headers: list[str], width: int, roles: dict[Role, int], *, header: bool) -> ColumnPlan:
    used = set(roles.values())
    extra = tuple(column for column in range(width) if column not in used)
    named = [role for role in (Role.name, Role.first_name, Role.last_name) if role in roles]
    fixed = [role.value for role in named]
    if named and Role.name not in named:
        fixed.insert(0, Role.name.value)  # composed from the first and last names
    wanted = [
        attribute_key(headers[column] if column < len(headers) else "", column + 1)
        for column in extra
    ]
    keys = (*fixed, *unique_keys(wanted, set(fixed)))
    return ColumnPlan(
        header=header,
        email=roles.get(Role.email),
        telegram=roles.get(Role.telegram),
        name=roles.get(Role.name),
        first_name=roles.get(Role.first_name),
        last_name=roles.get(Role.last_name),
        extra=extra,
        keys=keys,
    )
