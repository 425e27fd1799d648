"""People who talk to the bot and the roles that let them use it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    admin = "admin"
    manager = "manager"


@dataclass(slots=True)
class User:
    """Anyone the bot has seen; ``role`` is ``None`` for a stranger or a revoked user."""

    telegram_id: int
    username: str | None = None
    full_name: str = ""
    language: str | None = None
    role: Role | None = None
    is_active: bool = True
    granted_by: int | None = None
    granted_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.is_active and self.role is not None

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role is Role.admin

    @property
    def display_name(self) -> str:
        if self.username:
            return f"@{self.username}"
        return self.full_name or str(self.telegram_id)
