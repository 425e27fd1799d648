"""Composition root: builds the bot, the dispatcher and the storage from settings.

Nothing is built at import time; ``build`` takes every dependency that tests may want
to replace (the Bot API server comes from ``TELEGRAM_API_URL``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommandScopeAllPrivateChats
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ab_tests import TelegramABNotifier, ab_test_jobs
from bot.autodelete import autodelete_jobs
from bot.delivery import Delivery, build_sendsay_client
from bot.hooks import EventHooks, build_poster
from bot.metrics import Metrics
from bot.notifier import TelegramAccessNotifier, set_user_menu
from bot.probes import Alive, Probes, Report
from bot.retention import retention_jobs
from bot.schedule_notifier import TelegramScheduleNotifier
from bot.scheduler import ScheduleRunner
from bot.settings import Settings
from bot.tracking import TrackingWeb, bounce_reader, signer
from bot.updates import install_webhook
from bot.web import Site, WebApp, WebServer
from domain.clock import SystemClock
from domain.mailings import Channel
from domain.ports.uow import UnitOfWorkFactory
from domain.tracking import TrackingUrls
from domain.usecases import roles
from domain.usecases.launch import Launcher
from domain.usecases.tracking import Tracker
from handlers import build_router
from handlers.errors import ErrorReplyMiddleware, UpdateErrorMiddleware
from handlers.i18n import PoI18n, make_i18n
from handlers.menu import commands_for
from handlers.middlewares import (
    InFlightMiddleware,
    LocaleMiddleware,
    UnknownUpdateMiddleware,
    UserMiddleware,
)
from handlers.run_progress import RunWatcher
from handlers.services import Services
from infrastructure.bounces.imap import ImapBounceReader
from infrastructure.channels.telegram import TelegramSession
from infrastructure.channels.telegram_replies import FloodWaitMiddleware
from infrastructure.channels.telegram_stars import TelegramStars
from infrastructure.db.ab_tests import SqlABTests
from infrastructure.db.answers import SqlAnswers
from infrastructure.db.engine import create_engine, create_poll_engine, create_session_factory
from infrastructure.db.figures import SqlFigures
from infrastructure.db.follow_ups import SqlFollowUps
from infrastructure.db.repositories import SqlStatsReader
from infrastructure.db.segment_index import SqlFieldIndexes
from infrastructure.db.segment_results import SqlSegmentResults
from infrastructure.db.uow import make_uow_factory
from infrastructure.fetch import HttpFileFetcher
from infrastructure.fetch.hooks import HttpWebhookPoster
from infrastructure.importers import SqlRecipientImporter
from infrastructure.importers.members import SqlMemberUpserter
from infrastructure.importers.validation import TextAddressParser
from infrastructure.rendering import JinjaRenderer
from infrastructure.reports import MatplotlibChartDrawer, open_report_writer
from infrastructure.reports.answer_chart import MatplotlibAnswerChart
from infrastructure.reports.link_chart import MatplotlibLinkChart
from infrastructure.scheduling import CronScheduleCalculator
from infrastructure.sendsay import SendsayClient, SendsayListSource
from infrastructure.sendsay.check import SendsayAccountCheck

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)


@dataclass
class Database:
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    polls: AsyncEngine | None = None  # ``poll_engine``'s, made when first asked for

    def poll_engine(self) -> AsyncEngine:
        """The engine of reads that clients repeat (``create_poll_engine``)."""
        if self.polls is None:
            self.polls = create_poll_engine(self.engine)
        return self.polls

    async def close(self) -> None:
        if self.polls is not None and self.polls is not self.engine:
            await self.polls.dispose()
        await self.engine.dispose()


@dataclass
class App:
    settings: Settings
    db: Database
    bot: Bot
    dispatcher: Dispatcher
    i18n: PoI18n
    in_flight: InFlightMiddleware
    web: WebServer
    sendsay: SendsayClient | None
    delivery: Delivery
    watcher: RunWatcher
    scheduler: ScheduleRunner
    metrics: Metrics
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # stop serving (both modes)
    bounces: ImapBounceReader | None = None  # BOUNCE_IMAP_URL: run by ``serve``
    hooks: EventHooks | None = None  # sends event webhooks (bot process only)
    poster: HttpWebhookPoster | None = None
    router: Router | None = None  # lent by ROUTERS until ``close``

    async def close(self) -> None:
        if self.router is not None:
            ROUTERS.give_back(self.router)
            self.router = None
        await self.watcher.close()
        if self.poster is not None:
            await self.poster.aclose()
        await self.delivery.close()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        if self.sendsay is not None:
            await self.sendsay.aclose()
        await self.db.close()


class RouterPool:
    """The handlers' routers (``handlers.build_router``), built once and lent to one
    dispatcher at a time. They keep no state of their own (all a handler needs comes
    through the dispatcher's workflow data), but aiogram attaches a router to one parent
    only: an app gives its routers back when it closes. The bot builds one app per
    process; the end-to-end tests build ~450, and the routers' ~900 aiogram objects took
    ~25 ms of CPU to build each time."""

    def __init__(self) -> None:
        self._free: list[Router] = []

    def take(self) -> Router:
        return self._free.pop() if self._free else build_router()

    def give_back(self, router: Router) -> None:
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None  # what include_router checks; aiogram has no detach
        self._free.append(router)


ROUTERS = RouterPool()


def build_database(settings: Settings) -> Database:
    engine = create_engine(settings.database.url.get_secret_value())
    return Database(engine, make_uow_factory(create_session_factory(engine)))


def build_storage(settings: Settings) -> BaseStorage:
    """FSM state survives restarts in Redis when ``REDIS_URL`` is set."""
    if settings.redis.url is None:
        return MemoryStorage()
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(
        settings.redis.url.get_secret_value(),
        key_builder=DefaultKeyBuilder(prefix=settings.redis.key_prefix),
    )


def build_bot(settings: Settings) -> Bot:
    api = TelegramAPIServer.from_base(settings.telegram.api_url)
    return Bot(
        settings.telegram.token(),
        session=TelegramSession(api=api),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build(settings: Settings, db: Database | None = None) -> App:
    """The bot process's app: its one web server serves unsubscribe links, tracking, the
    webhook and the API. A worker process builds ``bot.worker_app.build_worker`` instead."""
    db = db or build_database(settings)
    bot = build_bot(settings)
    i18n = make_i18n()
    dp = Dispatcher(storage=build_storage(settings))
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(UpdateErrorMiddleware(i18n))  # a reply even if those below fail
    dp.update.outer_middleware(UnknownUpdateMiddleware())
    dp.update.outer_middleware(UserMiddleware(db.uow_factory))
    LocaleMiddleware(i18n).setup(dp)
    dp.message.middleware(ErrorReplyMiddleware())
    dp.callback_query.middleware(ErrorReplyMiddleware())
    router = dp.include_router(ROUTERS.take())
    sendsay = build_sendsay(settings)
    poster = build_poster(settings)
    renderer = JinjaRenderer()
    figures = SqlFigures(db.engine)
    metrics = Metrics(figures)
    delivery = Delivery(
        settings, db.engine, lambda: build_bot(settings), on_retry_after=metrics.on_retry_after
    )
    # Replies to people wait out flood control; the engine's own bot handles its 429s.
    bot.session.middleware(FloodWaitMiddleware(note=delivery.note_reply))
    stats = SqlStatsReader(db.engine)  # also the engagement reader
    watcher = RunWatcher(bot, i18n, db.uow_factory, stats, stats)
    calculator = CronScheduleCalculator(
        min_interval=timedelta(minutes=settings.schedule.min_interval_minutes)
    )
    stars = TelegramStars(bot, settings.telegram.rate)  # pays for fast mailings
    ab_store = SqlABTests(db.engine)
    scheduler = ScheduleRunner(
        db.uow_factory,
        Launcher(delivery.queue, renderer, settings.channels, stars),
        calculator,
        tick_seconds=settings.schedule.tick_seconds,
        grace=timedelta(minutes=settings.schedule.grace_minutes),
        jobs=[
            *retention_jobs(settings, db.engine, db.uow_factory),
            *autodelete_jobs(settings, db.engine, db.uow_factory),
            *ab_test_jobs(
                settings,
                ab_store,
                db.uow_factory,
                TelegramABNotifier(bot, i18n, db.uow_factory),
                lambda: delivery.clock,
            ),
        ],
        notifier=TelegramScheduleNotifier(bot, i18n, settings.timezone, watcher),
    )
    services = dp.workflow_data["services"] = Services(
        uow_factory=db.uow_factory,
        stats=stats,
        engagement=stats,
        clock=SystemClock(),
        tz=settings.timezone,
        available_channels=settings.channels,
        access_notifier=TelegramAccessNotifier(bot, i18n),
        address_parser=TextAddressParser(),
        renderer=renderer,
        schedule_calculator=calculator,
        delivery_queue=delivery.queue,
        run_watcher=watcher,
        importer=SqlRecipientImporter(db.engine),
        fetcher=HttpFileFetcher(
            max_bytes=settings.imports.max_bytes,
            timeout=settings.imports.fetch_timeout,
            allow_private=settings.imports.allow_private_urls,
        ),
        sendsay_source=SendsayListSource(sendsay),
        sendsay_check=(
            None
            if sendsay is None
            else SendsayAccountCheck(sendsay, sender=settings.sendsay_sender)
        ),
        paid_broadcasts=stars,
        chart_drawer=MatplotlibChartDrawer(),
        report_writer=open_report_writer,
        link_chart=MatplotlibLinkChart(),
        tracking=settings.feedback.tracking,
        follow_ups=SqlFollowUps(db.engine),
        answers=SqlAnswers(db.engine),
        answer_chart=MatplotlibAnswerChart(),
        field_indexes=SqlFieldIndexes(db.engine),
        ab_tests=ab_store,
        hooks=poster,
        segment_results=SqlSegmentResults(db.engine),
    )
    parts: dict[str, Alive] = {}
    reports: dict[str, Report] = {}
    site = Site()
    extra: list[tuple[str, int]] = []
    WebApp(db.uow_factory, i18n, settings.unsubscribe_key()).install(site)
    install_webhook(site, dp, bot, settings)
    # Links of mails already sent keep working when TRACKING is switched off.
    urls = TrackingUrls(signer(settings), settings.web.public_base_url)
    tracking = TrackingWeb(Tracker(db.uow_factory, urls))
    tracking.install(site)
    reports["tracking"] = tracking.status.as_json
    parts["scheduler"] = lambda: scheduler.alive
    hooks = EventHooks(settings, db.uow_factory, poster)
    bounces = bounce_reader(settings, db.uow_factory)
    if bounces is not None:
        reports["bounce_reader"] = bounces.status.as_json
    if settings.api.on:
        site.api = build_api_app(settings, db, i18n, services)
    if settings.api.port is not None:  # the same server on one more port
        extra.append((settings.api.host, settings.api.port))
    if settings.delivery.workers:
        parts["workers"] = lambda: delivery.alive
    Probes(figures.ping, metrics, parts, reports).install(site)
    server = WebServer(site, settings.web.host, settings.web.port, extra)
    return App(
        settings,
        db,
        bot,
        dp,
        i18n,
        in_flight,
        server,
        sendsay,
        delivery,
        watcher,
        scheduler,
        metrics,
        bounces=bounces,
        hooks=hooks,
        poster=poster,
        router=router,
    )


def build_api_app(settings: Settings, db: Database, i18n: PoI18n, services: Services) -> FastAPI:
    """The HTTP API, imported only when it is on: FastAPI and the API's models weigh about
    10 MB in every bot process otherwise (``bench/delivery.py --only bot`` RSS)."""
    from bot.api.app import build_api
    from bot.api.context import ApiContext
    from bot.api.limits import TokenRateLimit
    from infrastructure.db.repositories.api_tokens import SqlTokenRunReader

    members = SqlMemberUpserter(db.engine)
    runs = SqlTokenRunReader(db.poll_engine())
    ctx = ApiContext(services, members, runs, TokenRateLimit(settings.api.rate))
    return build_api(ctx, i18n, body_max_bytes=settings.api.body_max_bytes)


def build_sendsay(settings: Settings) -> SendsayClient | None:
    return build_sendsay_client(settings) if settings.configured(Channel.sendsay) else None


async def prepare(app: App) -> None:
    """Start-up work before taking updates: the configured admins and everyone's menu."""
    promoted = await roles.ensure_admins(app.db.uow_factory, app.settings.admin_ids)
    if promoted:
        log.info("Made admins from ADMIN_IDS: %s", promoted)
    if not await roles.has_active_admin(app.db.uow_factory):
        log.warning(
            "Nobody is an admin yet: write to the bot to learn your Telegram id, then set "
            "ADMIN_IDS or run `mailforge admin grant <id> admin`"
        )
    await sync_menus(app)


async def sync_menus(app: App) -> None:
    scope = BotCommandScopeAllPrivateChats()
    for locale in app.i18n.available_locales:
        commands = commands_for(None, app.i18n, locale)
        language = None if locale == app.i18n.default_locale else locale
        await app.bot.set_my_commands(commands, scope=scope, language_code=language)
    page = 0
    while True:
        staff = await roles.list_staff(app.db.uow_factory, actor_id=None, page=page, size=100)
        for user in staff.items:
            await set_user_menu(app.bot, app.i18n, user)
        if not staff.has_next:
            return
        page += 1
