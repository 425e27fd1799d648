"""Telling a mailing's owner that a scheduled launch did not happen, or that it started
(``ScheduleNotifier``): the start message then shows the run's progress, and its summary
comes as a new message (``handlers.run_progress``)."""

from __future__ import annotations

import logging
from html import escape
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Mailing
from domain.runs import SkippedSlot
from domain.users import User
from handlers.i18n import choose_locale, translate
from handlers.mailings_kb import MailingAct, MailingCD
from handlers.run_progress import RunWatcher, Watch

log = logging.getLogger(__name__)


class TelegramScheduleNotifier:
    """One message to the owner's chat, in their language, with the mailing's card a
    press away; times in ``tz`` (the ``TIMEZONE`` setting)."""

    def __init__(
        self, bot: Bot, i18n: I18n, tz: ZoneInfo, watcher: RunWatcher | None = None
    ) -> None:
        self.bot, self.i18n, self.tz = bot, i18n, tz
        self.watcher = watcher

    async def slot_launched(self, mailing: Mailing, run_id: int, owner: User | None) -> None:
        locale = choose_locale(owner.language if owner else None, self.i18n.available_locales)
        text = translate(
            self.i18n, "run-scheduled-started", locale, {"name": escape(mailing.name)}
        )
        try:
            sent = await self.bot.send_message(mailing.owner_id, text)
        except TelegramAPIError as exc:
            log.warning(
                "Could not tell the owner of mailing %s that its scheduled run started: %s",
                mailing.id,
                exc,
                extra={"mailing_id": mailing.id, "run_id": run_id},
            )
            return
        if self.watcher is not None and mailing.id is not None:
            watch = Watch(
                run_id,
                mailing.id,
                mailing.owner_id,
                sent.message_id,
                locale,
                announce_end=True,
                header=text + "\n\n",
            )
            self.watcher.watch(watch)

    def text(self, skipped: SkippedSlot, locale: str) -> str:
        reason = translate(self.i18n, skipped.reason, locale, skipped.params)
        params = {
            "name": escape(skipped.mailing.name),
            "time": skipped.slot.astimezone(self.tz).strftime("%d.%m.%Y %H:%M"),
            "reason": escape(reason),
        }
        after = "schedule-slot-skipped-draft" if skipped.back_to_draft else None
        if after is None and skipped.mailing.schedule.is_recurring:
            after = "schedule-slot-skipped-next"
        text = translate(self.i18n, "schedule-slot-skipped", locale, params)
        return f"{text}\n{translate(self.i18n, after, locale)}" if after else text

    async def slot_skipped(self, skipped: SkippedSlot, owner: User | None) -> None:
        locale = choose_locale(owner.language if owner else None, self.i18n.available_locales)
        keyboard = InlineKeyboardBuilder()
        if skipped.mailing.id is not None:
            keyboard.button(
                text=translate(self.i18n, "run-button-card", locale),
                callback_data=MailingCD(action=MailingAct.open, mailing_id=skipped.mailing.id),
            )
        try:
            await self.bot.send_message(
                skipped.mailing.owner_id,
                self.text(skipped, locale),
                reply_markup=keyboard.as_markup(),
            )
        except TelegramAPIError as exc:
            log.warning(
                "Could not tell the owner of mailing %s about a skipped slot: %s",
                skipped.mailing.id,
                exc,
                extra={"mailing_id": skipped.mailing.id},
            )
