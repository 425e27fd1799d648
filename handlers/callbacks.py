"""Callback data of inline buttons (aiogram ``CallbackData`` factories).

Whatever a button carries is untrusted: handlers re-check the caller's rights in the
use case, and unparsable or stale data falls through to an alert in ``fallback``.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from domain.users import Role


class UsersPage(CallbackData, prefix="users"):
    page: int


class GrantChoice(CallbackData, prefix="grant"):
    user_id: int
    role: Role | None = None  # None: the admin declined


class StatsAct(StrEnum):
    show = "show"
    history = "hist"
    csv = "csv"
    xlsx = "xlsx"


class StatsCD(CallbackData, prefix="st"):
    """``run_id=0``: the latest run. Untrusted: the use cases check the caller's rights."""

    action: StatsAct
    mailing_id: int
    run_id: int = 0
    page: int = 0


class FollowAct(StrEnum):
    recall = "rc"  # ask first
    recall_yes = "rcy"
    edit = "ed"  # ask for the new text
    edit_yes = "edy"  # replace, buttons kept
    edit_bare = "edb"  # replace, buttons removed


class FollowCD(CallbackData, prefix="fu"):
    """A follow-up of a send run. Untrusted: the use cases check the caller's rights."""

    action: FollowAct
    mailing_id: int
    run_id: int


class TokenCD(CallbackData, prefix="tok"):
    """Revoke one of the caller's API tokens (``/tokens``)."""

    token_id: int


class UnsuppressCD(CallbackData, prefix="unsup"):
    """Confirming /unsuppress of an address that unsubscribed itself (``yes=False``: no)."""

    address_id: int
    yes: bool = False


class HookAct(StrEnum):
    add = "add"
    test = "test"
    delete = "del"  # ask first
    delete_yes = "dely"
    back = "back"  # the list again


class HookCD(CallbackData, prefix="hook"):
    """An event webhook endpoint (``/hooks``, admins). Untrusted: the use cases check."""

    action: HookAct
    endpoint_id: int = 0
