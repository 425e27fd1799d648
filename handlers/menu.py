"""The command menu each role sees (``setMyCommands`` per chat scope).

Later features add their commands here; the bot sets the menu at start for every
staff member and again whenever a role changes.
"""

from __future__ import annotations

from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n

from domain.users import Role
from handlers.i18n import translate

STRANGER_COMMANDS = ("start", "stop", "help")
MANAGER_COMMANDS = ("new", "mailings", "templates", "lists", "tokens", "help", "cancel")
ADMIN_COMMANDS = (
    *MANAGER_COMMANDS,
    "stats",
    "users",
    "grant",
    "revoke",
    "unsuppress",
    "sendsay",
    "hooks",
)
ADMIN_ONLY = frozenset(ADMIN_COMMANDS) - frozenset(MANAGER_COMMANDS)


def command_names(role: Role | None) -> tuple[str, ...]:
    if role is Role.admin:
        return ADMIN_COMMANDS
    if role is Role.manager:
        return MANAGER_COMMANDS
    return STRANGER_COMMANDS


def commands_for(role: Role | None, i18n: I18n, locale: str) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=translate(i18n, f"cmd-{name}", locale))
        for name in command_names(role)
    ]
