"""Filters on the caller's role (loaded by ``UserMiddleware`` as ``data["user"]``) and on
the message a button is on."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from domain.users import Role, User


class RoleFilter(Filter):
    """Passes when the caller is active staff with one of ``roles``."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, user: User | None = None, **_: Any) -> bool:
        return user is not None and user.is_staff and user.role in self.roles


class StrangerFilter(Filter):
    """Passes for anyone without an active role."""

    async def __call__(self, event: TelegramObject, user: User | None = None, **_: Any) -> bool:
        return user is None or not user.is_staff


IsAdmin = RoleFilter(Role.admin)
IsStaff = RoleFilter(Role.admin, Role.manager)
IsStranger = StrangerFilter()


class OnMessage(Filter):
    """Passes a button's message to the handler as ``message``.

    A message the bot can no longer see (deleted, or too old: Telegram sends an
    ``InaccessibleMessage``) fails the filter, and ``fallback`` answers that the button is
    outdated. https://core.telegram.org/bots/api#inaccessiblemessage
    """

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Message]:
        return {"message": query.message} if isinstance(query.message, Message) else False


ButtonMessage = OnMessage()
