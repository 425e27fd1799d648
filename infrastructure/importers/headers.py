"""Column headers: which column holds what, and attribute keys usable as placeholders."""

from __future__ import annotations

import enum
import keyword
import re

# Case, spaces, punctuation and ё/е do not matter when matching a header.
_IGNORED = re.compile(r"[\W_]+")


class Role(enum.Enum):
    email = "email"
    telegram = "telegram"
    name = "name"
    first_name = "first_name"
    last_name = "last_name"


def header_token(text: str) -> str:
    return _IGNORED.sub("", text.casefold().replace("ё", "е"))


def _tokens(aliases: str) -> frozenset[str]:
    return frozenset(header_token(alias) for alias in aliases.split("|"))


ALIASES: dict[Role, frozenset[str]] = {
    Role.email: _tokens(
        "email|e-mail|е-mail|mail|email address|почта|эл. почта|электронная почта"
        "|адрес электронной почты|емейл|имейл|емэйл|имэйл"
    ),
    Role.telegram: _tokens(
        "telegram|telegram id|tg|tg_id|tg id|chat id|chat_id|user id|telegram chat id"
        "|telegram user id|телеграм|телеграм id|телеграмм|телеграмм id|тг|тг id"
        "|id телеграм|id чата"
    ),
    Role.name: _tokens("name|full name|имя|фио|имя фамилия|фамилия имя|полное имя"),
    Role.first_name: _tokens("first name|given name"),
    Role.last_name: _tokens("last name|surname|family name|фамилия"),
}
# "Имя" beside "Фамилия" is a first name, not the whole name.
_FIRST_IF_LAST = _tokens("name|имя")
_JINJA_LITERALS = frozenset({"true", "false", "none"})


def header_role(text: str) -> Role | None:
    token = header_token(text)
    return next((role for role, aliases in ALIASES.items() if token in aliases), None)


def header_roles(cells: list[str]) -> dict[Role, int]:
    """The first column of each recognised role."""
    roles: dict[Role, int] = {}
    for index, cell in enumerate(cells):
        role = header_role(cell)
        if role is not None and role not in roles:
            roles[role] = index
    name = roles.get(Role.name)
    if (
        name is not None
        and Role.last_name in roles
        and Role.first_name not in roles
        and header_token(cells[name]) in _FIRST_IF_LAST
    ):
        roles[Role.first_name] = roles.pop(Role.name)
    return roles


def attribute_key(header: str, position: int) -> str:
    """A Jinja-friendly key: lowercase, spaces and dashes to ``_``, other punctuation gone.

    Letters of any script stay (Jinja2 accepts Unicode identifiers). ``position`` is the
    1-based column number, used when nothing is left of the header.
    """
    key = re.sub(r"[\s\-]+", "_", header.strip().casefold())
    key = re.sub(r"[^\w]", "", key).strip("_")
    key = re.sub(r"_+", "_", key)
    if not key:
        return f"column_{position}"
    if key[0].isdigit():
        key = f"_{key}"
    if keyword.iskeyword(key) or key in _JINJA_LITERALS:
        key = f"{key}_"
    return key


def unique_keys(keys: list[str], taken: set[str]) -> list[str]:
    """Suffix repeated keys (``city``, ``city_2``) so no column overwrites another."""
    result: list[str] = []
    for key in keys:
        candidate, number = key, 2
        while candidate in taken:
            candidate, number = f"{key}_{number}", number + 1
        taken.add(candidate)
        result.append(candidate)
    return result
