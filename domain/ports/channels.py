"""Sending one message per recipient, and what Telegram's paid broadcasts cost
(``usecases.deliver``, ``channel_guard``, ``preview``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from domain.account_check import AccountCheck
from domain.delivery import Message, RunContent, SendResult


class DeliveryChannel(Protocol):
    """Sends a batch through one channel (SMTP, Telegram, Sendsay, webhook).

    Sends the messages concurrently over reused connections and returns exactly one
    result per message, never raising for a single recipient's failure. Honours the
    channel's rate limits itself. Must never blindly retry a request that may have
    reached the recipient (a read timeout after sending is ``failed``, "uncertain").
    """

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]: ...

    async def close(self) -> None: ...


class PaidBroadcasts(Protocol):
    """Telegram's paid broadcasts as this bot may use them (``domain.paid``)."""

    @property
    def rate(self) -> float:
        """Messages/s of a fast mailing (TELEGRAM_RATE); paid only above the free 30/s."""
        ...

    async def balance(self) -> Decimal | None:
        """The bot's Telegram Star balance (getMyStarBalance); None if Telegram could not
        be asked just now."""
        ...


class AccountChecker(Protocol):
    """A provider account's health, for the admin (Sendsay: ``usecases.account_check``)."""

    async def check(self) -> AccountCheck:
        """Check the account with read-only calls only; never raises for the provider's
        answers (a refused key is ``key_works=False`` with its ``problem``)."""
        ...
