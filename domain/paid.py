"""Telegram paid broadcasts: when a mailing goes out as one, and what it may cost.

Telegram holds a bot to about 30 messages/s; ``allow_paid_broadcast`` lifts that to
1000/s for 0.1 Telegram Star a message above the free amount, paid from the bot's
balance (https://core.telegram.org/bots/api#sendmessage,
https://core.telegram.org/bots/faq#how-can-i-message-all-of-my-bot-39s-subscribers-at-once).
A fast mailing is sent that way when the configured rate is above the free one; how many
of its messages fall "above the free amount" depends on what else the bot sends, so the
preview shows the most it can cost: every message charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.mailings import Channel, Mailing

FREE_RATE = 30.0  # messages/s Telegram sends for nothing
FEE = Decimal("0.1")  # Stars a paid message costs


def sent_paid(mailing: Mailing, rate: float) -> bool:
    """The mailing's broadcasts carry ``allow_paid_broadcast`` at ``rate`` (TELEGRAM_RATE)."""
    return mailing.channel is Channel.telegram and mailing.fast and rate > FREE_RATE


def most_cost(recipients: int) -> Decimal:
    return FEE * recipients


@dataclass(frozen=True, slots=True)
class PaidEstimate:
    """What a fast launch may cost against what the bot has (None: Telegram did not say)."""

    rate: float
    recipients: int
    balance: Decimal | None

    @property
    def cost(self) -> Decimal:
        return most_cost(self.recipients)

    @property
    def covered(self) -> bool:
        return self.balance is not None and self.balance >= self.cost
