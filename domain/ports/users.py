"""People: the users the bot has seen, and telling one that their access changed
(``usecases.access``, ``roles``, ``subscribers``).
"""

from __future__ import annotations

from typing import Protocol

from domain.pagination import Page
from domain.users import Role, User


class UserRepository(Protocol):
    """Everyone the bot has seen, keyed by Telegram user id."""

    async def get(self, telegram_id: int) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None:
        """Case-insensitive lookup without the leading ``@``."""
        ...

    async def add(self, user: User) -> None: ...

    async def add_or_get(self, user: User) -> User:
        """Insert ``user`` unless a row with its id exists (an upsert that keeps the stored
        row: two first messages of a new user arrive together); return the stored user."""
        ...

    async def update(self, user: User) -> None: ...

    async def count_active(self, role: Role) -> int: ...

    async def lock_admins(self) -> None:
        """Hold the active admins until the unit of work ends: role changes take turns, so
        two admins revoking each other at once cannot leave nobody in charge."""
        ...

    async def list_staff(self, page: int, size: int) -> Page[User]:
        """Users that have (or had) a role, admins first, then by id."""
        ...


class AccessNotifier(Protocol):
    """Tells a person, through the bot and in their language, that their access changed,
    and refreshes their command menu to match the new role (``None``: no access).

    Failures to deliver (the person never started the bot, or blocked it) are logged
    by the adapter, never raised: the role change itself is already committed.
    """

    async def access_changed(self, user: User) -> None: ...
