"""Composition root of ``mailforge worker``: delivery workers, ``/healthz`` and ``/metrics``.

A worker process takes no updates: it builds no dispatcher, no routers, no FSM storage, no
scheduler and no services (``bot/app.py`` builds those for the bot process). Its bot only
checks the token at start-up; the workers send through bots of their own (``Delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot

from bot.app import Database, build_bot, build_database
from bot.delivery import Delivery
from bot.metrics import Metrics
from bot.probes import Probes
from bot.settings import Settings
from bot.web import Site, WebServer
from infrastructure.db.figures import SqlFigures


@dataclass
class WorkerApp:
    settings: Settings
    db: Database
    bot: Bot
    web: WebServer  # answers /healthz and /metrics only
    delivery: Delivery
    metrics: Metrics

    async def close(self) -> None:
        await self.delivery.close()
        await self.bot.session.close()
        await self.db.close()


def build_worker(settings: Settings, db: Database | None = None) -> WorkerApp:
    db = db or build_database(settings)
    figures = SqlFigures(db.engine)
    metrics = Metrics(figures)
    delivery = Delivery(
        settings, db.engine, lambda: build_bot(settings), on_retry_after=metrics.on_retry_after
    )
    site = Site()
    Probes(figures.ping, metrics, {"workers": lambda: delivery.alive}).install(site)
    server = WebServer(site, settings.web.host, settings.web.port)
    return WorkerApp(settings, db, build_bot(settings), server, delivery, metrics)
