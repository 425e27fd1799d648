"""The A/B test job: every scheduler tick, each test whose waiting time is up sends its
winner to the rest (``domain.usecases.ab_tests.decide_due``), and whoever launched it is
told in the chat which variant won, by how much, and whether that could be chance. The
database says what is due and decides it once, so nothing is lost across restarts and
nothing is decided twice (a crash after the decision but before the message loses only
the message)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from bot.scheduler import PeriodicJob
from bot.settings import Settings
from domain.clock import Clock
from domain.ports.ab_tests import ABTestStore
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases.ab_tests import Decided, decide_due
from handlers.i18n import choose_locale
from handlers.mailing_ab_kb import decision_text

AB_TEST_JOB_ID = "mailforge-ab-tests"
log = logging.getLogger(__name__)


class TelegramABNotifier:
    """One message to the launcher's chat, in their language."""

    def __init__(self, bot: Bot, i18n: I18n, uow_factory: UnitOfWorkFactory) -> None:
        self.bot, self.i18n, self.uow_factory = bot, i18n, uow_factory

    async def decided(self, decided: Decided) -> None:
        async with self.uow_factory() as uow:
            owner = await uow.users.get(decided.owner_id)
        locale = choose_locale(owner.language if owner else None, self.i18n.available_locales)
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = decision_text(decided.mailing_name, decided.decision, decided.released)
        try:
            await self.bot.send_message(decided.owner_id, text)
        except TelegramAPIError as exc:
            log.warning(
                "Could not tell the A/B test's winner of run %s: %s",
                decided.run.id,
                exc,
                extra={"run_id": decided.run.id},
            )


def ab_test_jobs(
    settings: Settings,
    store: ABTestStore,
    uow_factory: UnitOfWorkFactory,
    notifier: TelegramABNotifier,
    clock: Callable[[], Clock],
) -> list[PeriodicJob]:
    """``clock``: the engine's, read at each tick (tests move a fake one)."""

    async def decide() -> None:
        for decided in await decide_due(uow_factory, store, clock()):
            log.info(
                "A/B test of run %s: variant %s went to %s more recipients",
                decided.run.id,
                decided.decision.winner,
                decided.released,
                extra={"run_id": decided.run.id},
            )
            await notifier.decided(decided)

    every = timedelta(seconds=settings.schedule.tick_seconds)
    return [PeriodicJob(AB_TEST_JOB_ID, decide, every, timedelta(seconds=1))]
