"""The bot's Telegram Stars, which pay for paid broadcasts (``PaidBroadcasts``).

``getMyStarBalance`` answers a ``StarAmount``: whole Stars plus nanostars
(https://core.telegram.org/bots/api#getmystarbalance, Bot API 9.1).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetMyStarBalance

log = logging.getLogger(__name__)
_NANO = Decimal(1_000_000_000)


class TelegramStars:
    def __init__(self, bot: Bot, rate: float) -> None:
        self._bot = bot
        self._rate = rate

    @property
    def rate(self) -> float:
        return self._rate

    async def balance(self) -> Decimal | None:
        try:
            amount = await self._bot(GetMyStarBalance())
        except TelegramAPIError:
            log.warning("Telegram did not tell the bot's Star balance", exc_info=True)
            return None
        return Decimal(amount.amount) + Decimal(amount.nanostar_amount or 0) / _NANO
