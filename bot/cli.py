"""The ``mailforge`` command (also ``python -m bot``).

mailforge run                       the bot, with the in-process scheduler and workers
mailforge migrate                   bring the database schema up to date
mailforge admin grant ID ROLE       grant admin|manager from the console
mailforge admin revoke ID           take a role away
mailforge admin list                everyone with a role
mailforge token create ID [--name N]  an API token acting as that user (shown once)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.logs import secrets_of, setup_logging
from bot.settings import ConfigError, Settings, load_settings
from domain.errors import DomainError
from domain.users import Role


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mailforge", description="MailForge mailing manager")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (migrates the database first)")
    commands.add_parser("worker", help="run delivery workers only (scale-out)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    admin = commands.add_parser("admin", help="manage roles without the bot")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    grant = actions.add_parser("grant", help="grant a role to a Telegram user id")
    grant.add_argument("user_id", type=int)
    grant.add_argument("role", choices=[r.value for r in Role])
    revoke = actions.add_parser("revoke", help="revoke the role of a Telegram user id")
    revoke.add_argument("user_id", type=int)
    actions.add_parser("list", help="list everyone with a role")
    token = commands.add_parser("token", help="HTTP API tokens")
    token_actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = token_actions.add_parser("create", help="make a token acting as a user with a role")
    create.add_argument("user_id", type=int)
    create.add_argument("--name", default=None, help="a name to tell tokens apart")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        secrets = secrets_of(settings) + derived_secrets(settings)
        setup_logging(settings.log.level, secrets, settings.log.format)
        return asyncio.run(dispatch(args, settings))
    except ConfigError as exc:
        print(f"mailforge: configuration error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"mailforge: {exc.key} {exc.params or ''}".rstrip(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def derived_secrets(settings: Settings) -> list[str]:
    """Secrets computed from others (not settings of their own) are redacted too."""
    if settings.telegram.webhook_url is None or settings.telegram.bot_token is None:
        return []
    return [settings.telegram.webhook_key()]


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        settings.telegram.token()  # fail fast, before touching the database
        from bot import runner  # aiogram is slow to import; only the bot needs it

        await runner.run_bot(settings)
        return 0
    if args.command == "worker":
        settings.telegram.token()  # the Telegram channel sends through the Bot API
        from bot import runner

        await runner.run_workers(settings)
        return 0
    from bot import console

    if args.command == "migrate":
        await console.migrate(settings)
        print("mailforge: the database schema is up to date")
    elif args.command == "token":
        await console.create_token(settings, args.user_id, args.name)
    else:
        await console.admin(settings, args.action, getattr(args, "user_id", None), args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
