"""A read-only look at a provider account (the admin's ``/sendsay``): does our key work,
what the provider tells about the account, and what only a live account can confirm."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountCheck:
    account: str
    endpoint: str  # where the API answered (after any redirect)
    key_works: bool
    problem: str | None = None  # why not: a reason (``<locale key>[: detail]``)
    reached: bool = True  # False: the API did not answer (so the key is not known to fail)
    lists: int | None = None  # how many lists the account has
    sender: str = ""
    sender_confirmed: bool | None = None  # None: the API does not tell
    assumptions: tuple[str, ...] = ()  # locale keys: what the adapter assumes
