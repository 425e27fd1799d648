"""Console commands that need no Telegram connection: ``migrate`` and ``admin``.

aiogram is imported only when a bot token is configured, so these start quickly.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from bot.settings import ConfigError, Settings
from domain.ports.uow import UnitOfWorkFactory
from domain.ports.users import AccessNotifier
from domain.usecases import api_tokens, roles
from domain.users import Role, User
from infrastructure.db import create_engine, create_session_factory, make_uow_factory
from infrastructure.db.migrate import upgrade

log = logging.getLogger(__name__)


async def migrate(settings: Settings) -> None:
    await check_database(settings.database.url.get_secret_value())
    await upgrade(settings.database.url.get_secret_value())


async def check_database(url: str) -> None:
    """One line naming ``DATABASE_URL`` (never its password) when the database cannot be
    reached, instead of a driver's traceback at the first migration."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, TimeoutError, DBAPIError) as error:
        parsed = make_url(url)
        where = parsed.database if parsed.get_backend_name() == "sqlite" else _server(url)
        reason = getattr(error, "orig", None) or error
        detail = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        raise ConfigError(f"DATABASE_URL: cannot reach the database {where} ({detail})") from None
    finally:
        await engine.dispose()


def _server(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.database} on {parsed.host or 'localhost'}:{parsed.port or 5432}"


async def admin(
    settings: Settings, action: str, user_id: int | None, args: argparse.Namespace
) -> None:
    await migrate(settings)
    engine = create_engine(settings.database.url.get_secret_value())
    uow_factory = make_uow_factory(create_session_factory(engine))
    notifier, close_bot = _notifier(settings)
    try:
        if action == "grant" and user_id is not None:
            await roles.grant_role(
                uow_factory, notifier, actor_id=None, target_id=user_id, role=Role(args.role)
            )
            print(f"{user_id}: {args.role}")
        elif action == "revoke" and user_id is not None:
            await roles.revoke_role(uow_factory, notifier, actor_id=None, target_id=user_id)
            print(f"{user_id}: revoked")
        else:
            await _print_staff(uow_factory)
    finally:
        await close_bot()
        await engine.dispose()


async def create_token(settings: Settings, user_id: int, name: str | None) -> None:
    """Print a new API token for ``user_id`` (who must hold a role): its only showing."""
    await migrate(settings)
    engine = create_engine(settings.database.url.get_secret_value())
    try:
        uow_factory = make_uow_factory(create_session_factory(engine))
        token, secret = await api_tokens.create_token(uow_factory, None, user_id, name)
        print(secret)
        print(f"mailforge: token “{token.name}” acts as {user_id}; it is not shown again")
    finally:
        await engine.dispose()


async def _print_staff(uow_factory: UnitOfWorkFactory) -> None:
    page = 0
    while True:
        staff = await roles.list_staff(uow_factory, actor_id=None, page=page, size=100)
        for user in staff.items:
            role = user.role.value if user.role else "-"
            when = user.granted_at.isoformat(timespec="seconds") if user.granted_at else "-"
            print(f"{user.telegram_id}\t{role}\t{user.display_name}\t{when}")
        if not staff.has_next:
            return
        page += 1


def _notifier(settings: Settings) -> tuple[AccessNotifier, Callable[[], Awaitable[None]]]:
    """Tell people through the bot when a token is configured; otherwise only store."""
    if settings.telegram.bot_token is None:
        return SilentAccessNotifier(), _nothing
    from bot.app import build_bot
    from bot.notifier import TelegramAccessNotifier
    from handlers.i18n import make_i18n

    bot = build_bot(settings)
    return TelegramAccessNotifier(bot, make_i18n()), bot.session.close


async def _nothing() -> None:
    return None


class SilentAccessNotifier:
    """The change is only stored; the person sees it the next time they write."""

    async def access_changed(self, user: User) -> None:
        log.info("User %s access changed; no bot token, nobody notified", user.telegram_id)
