"""Long-running entry points: the bot process and the console admin commands."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

from bot.app import App, build, prepare
from bot.console import migrate
from bot.settings import ConfigError, Settings
from bot.updates import on_signals, receive_by_polling, receive_by_webhook
from bot.worker_app import WorkerApp, build_worker
from domain.usecases import recovery

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 20.0


async def start(settings: Settings) -> App:
    """Migrate, build and prepare the bot's app; the caller runs and closes it. The token
    is checked with Telegram first, so a wrong token or an unreachable Bot API stops
    start-up with one clear line."""
    await migrate(settings)
    app = build(settings)
    async with closed_on_error(app):
        await check_telegram(app)
        await prepare(app)
        await mend(app)
    return app


async def start_worker(settings: Settings) -> WorkerApp:
    """As ``start``, for a worker process: its app has no dispatcher (``bot/worker_app.py``),
    and the bot's own start-up work (admins, command menus) is left to the bot process."""
    await migrate(settings)
    app = build_worker(settings)
    async with closed_on_error(app):
        await check_telegram(app)
    return app


@asynccontextmanager
async def closed_on_error(app: App | WorkerApp) -> AsyncIterator[None]:
    """A start-up that fails closes what was built (connections, sessions)."""
    try:
        yield
    except BaseException:
        await app.close()
        raise


async def mend(app: App) -> None:
    """Launches a crash cut in two (run created, not yet started) are started or closed
    before the bot serves; their progress messages are followed again by ``serve``."""
    mended = await recovery.finish_interrupted_launches(app.db.uow_factory, app.delivery.queue)
    if mended:
        log.info("Mended %d launch(es) interrupted by a crash", len(mended))


def settle_heap() -> None:
    """Move what start-up built (modules, models, handlers: ~100 MB that lives as long as
    the process) out of the garbage collector's way. Each full collection walked all of
    it, ~115 ms on a slow machine every few seconds while sending, a stall of the bot's
    answers; it now walks only what was made since (~20 ms)."""
    gc.collect()
    gc.freeze()


async def check_telegram(app: App | WorkerApp) -> None:
    try:
        me = await app.bot.get_me()
    except TelegramUnauthorizedError:
        raise ConfigError("BOT_TOKEN: Telegram rejected this token (401 Unauthorized)") from None
    except TelegramNetworkError as exc:
        raise ConfigError(
            f"TELEGRAM_API_URL: cannot reach {app.settings.telegram.api_url} ({exc.message})"
        ) from None
    log.info("Connected to Telegram as @%s", me.username)


async def run_bot(settings: Settings) -> None:
    app = await start(settings)
    settle_heap()
    try:
        mode = "webhook" if settings.telegram.webhook_url else "polling"
        log.info("MailForge bot starts (%s)", mode)
        await serve(app)
    finally:
        await app.close()
        log.info("MailForge stopped")


async def serve(app: App, *, handle_signals: bool = True, polling_timeout: int = 10) -> None:
    """Take updates (polling, or the webhook) until stopped (SIGINT/SIGTERM, or ``stop``),
    then let the updates in flight finish."""
    dp, bot, settings = app.dispatcher, app.bot, app.settings
    await app.web.start()
    reader = None
    if app.bounces is not None:
        reader = asyncio.create_task(
            app.bounces.run_forever(settings.feedback.bounce_poll_seconds)
        )
    try:
        app.delivery.start(settings.delivery.workers)
        app.scheduler.start()
        if app.hooks is not None:
            app.hooks.start()
        await app.watcher.resume()  # progress messages of runs a restart interrupted
        if settings.telegram.webhook_url:
            stopping = app.stopping
            await receive_by_webhook(bot, dp, settings, stopping, handle_signals=handle_signals)
        else:
            await receive_by_polling(
                bot,
                dp,
                app.stopping,
                handle_signals=handle_signals,
                polling_timeout=polling_timeout,
            )
        if not await app.in_flight.drain(within=SHUTDOWN_GRACE_SECONDS):
            log.warning("Stopped with %d updates still being handled", app.in_flight.count)
    finally:
        if reader is not None:
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader
        app.scheduler.stop()
        if app.hooks is not None:
            await app.hooks.stop()
        await app.delivery.stop()  # workers finish and record the batch in hand
        await app.web.stop()


async def stop(app: App) -> None:
    """Ask ``serve`` to return, in either mode (as SIGTERM would)."""
    app.stopping.set()
    with suppress(RuntimeError):  # not polling (webhook mode), or polling already stopped
        await app.dispatcher.stop_polling()


async def run_workers(settings: Settings) -> None:
    """``mailforge worker``: delivery workers only, until SIGINT or SIGTERM; its web server
    answers ``/healthz`` and ``/metrics`` on ``WEB_PORT``."""
    app = await start_worker(settings)
    settle_heap()
    stopping = asyncio.Event()
    count = max(settings.delivery.workers, 1)
    try:
        with on_signals(stopping.set):  # before the "runs" line: a signal may follow it at once
            await app.web.start()
            app.delivery.start(count)
            log.info("MailForge worker runs %d worker(s)", count)
            await stopping.wait()
    finally:
        await app.delivery.stop()
        await app.web.stop()
        await app.close()
        log.info("MailForge worker stopped")
