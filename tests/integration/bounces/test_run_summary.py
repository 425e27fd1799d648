"""The run's progress message says how many of its refused recipients bounced after the
relay took their mail: the real watcher edits a message at the fake Bot API."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports.uow import UnitOfWorkFactory
from domain.runs import RunStatus
from domain.usecases.bounces import apply_bounce
from handlers.i18n import make_i18n
from handlers.run_progress import RunWatcher, Watch
from infrastructure.bounces import BounceClassifier
from infrastructure.db.repositories import SqlStatsReader
from tests.fakes.bot_api import FakeBotAPI
from tests.integration.bounces.helpers import VERP, delivered_run, sample
from tests.integration.db.test_queue import T0

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
MANAGER = 4_400_101


async def test_the_summary_says_how_many_of_the_refused_bounced_later(
    uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    run_id, ids = await delivered_run(uow_factory, db_engine, ["a@example.com", "b@example.com"])
    report = BounceClassifier(VERP).classify(
        sample("postfix_user_unknown.eml", ids["b@example.com"])
    )
    await apply_bounce(uow_factory, report, T0, soft_limit=3)
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        run.status = RunStatus.completed
        await uow.runs.update(run)
        await uow.commit()

    async with FakeBotAPI() as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        try:
            shown = await bot.send_message(MANAGER, "Launching…")
            watcher = RunWatcher(
                bot,
                make_i18n(),
                uow_factory,
                SqlStatsReader(db_engine),
                SqlStatsReader(db_engine),
                interval=0.05,
            )
            watcher.watch(Watch(run_id, run.mailing_id, MANAGER, shown.message_id, "en"))
            summary = await api.wait_for_message(MANAGER, contains="Summary", timeout=10)
            await watcher.close()
        finally:
            await bot.session.close()
    assert summary.text is not None
    assert "✅ delivered: 1" in summary.text and "🚫 refused: 1" in summary.text
    assert "↩️ of the refused, 1 bounced after delivery" in summary.text
