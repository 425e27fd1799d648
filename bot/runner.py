"""Long-running entry points: the bot process and the console admin commands."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

from bot.app import App, build, prepare
from bot.console import migrate
from bot.settings import ConfigError, Settings

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 20.0


async def start(settings: Settings, *, bot: bool = True) -> App:
    """Migrate, build and prepare the app; the caller runs and closes it.

    ``bot=False`` (a worker process) leaves the bot's own start-up work (admins, command
    menus) to the bot process. Either way the token is checked with Telegram first, so a
    wrong token or an unreachable Bot API stops start-up with one clear line."""
    await migrate(settings)
    app = build(settings)
    try:
        await check_telegram(app)
        if bot:
            await prepare(app)
    except BaseException:
        await app.close()
        raise
    return app


async def check_telegram(app: App) -> None:
    try:
        me = await app.bot.get_me()
    except TelegramUnauthorizedError:
        raise ConfigError("BOT_TOKEN: Telegram rejected this token (401 Unauthorized)") from None
    except TelegramNetworkError as exc:
        raise ConfigError(
            f"TELEGRAM_API_URL: cannot reach {app.settings.telegram_api_url} ({exc.message})"
        ) from None
    log.info("Connected to Telegram as @%s", me.username)


async def run_bot(settings: Settings) -> None:
    app = await start(settings)
    try:
        log.info("MailForge bot starts polling")
        await serve(app)
    finally:
        await app.close()
        log.info("MailForge stopped")


async def serve(app: App, *, handle_signals: bool = True, polling_timeout: int = 10) -> None:
    """Poll for updates until stopped (SIGINT/SIGTERM, or ``stop_polling``), then let the
    updates in flight finish."""
    dp = app.dispatcher
    await app.web.start()
    app.delivery.start(app.settings.workers)
    app.scheduler.start()
    try:
        await dp.start_polling(
            app.bot,
            handle_signals=handle_signals,
            close_bot_session=False,
            polling_timeout=polling_timeout,
            allowed_updates=dp.resolve_used_update_types(),
        )
        if not await app.in_flight.drain(within=SHUTDOWN_GRACE_SECONDS):
            log.warning("Stopped with %d updates still being handled", app.in_flight.count)
    finally:
        app.scheduler.stop()
        await app.delivery.stop()  # workers finish and record the batch in hand
        await app.web.stop()


async def run_workers(settings: Settings) -> None:
    """``mailforge worker``: delivery workers only, until SIGINT or SIGTERM."""
    app = await start(settings, bot=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    count = max(settings.workers, 1)
    app.delivery.start(count)
    log.info("MailForge worker runs %d worker(s)", count)
    try:
        await stop.wait()
    finally:
        await app.delivery.stop()
        await app.close()
        log.info("MailForge worker stopped")
