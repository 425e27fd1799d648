"""Callback data of inline buttons (aiogram ``CallbackData`` factories).

Whatever a button carries is untrusted: handlers re-check the caller's rights in the
use case, and unparsable or stale data falls through to an alert in ``fallback``.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from domain.users import Role


class UsersPage(CallbackData, prefix="users"):
    page: int


class GrantChoice(CallbackData, prefix="grant"):
    user_id: int
    role: Role | None = None  # None: the admin declined
