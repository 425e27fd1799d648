"""``/sendsay`` (admins): a read-only check of the Sendsay account, in one message."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from domain.account_check import AccountCheck
from domain.usecases.account_check import check_account
from domain.users import User
from handlers.filters import IsAdmin
from handlers.i18n import reason_text, t
from handlers.services import Services


async def sendsay_command(message: Message, user: User, services: Services) -> None:
    check = await check_account(
        services.uow_factory, services.sendsay_check, actor_id=user.telegram_id
    )
    await message.answer(t("sendsay-check-not-configured") if check is None else check_text(check))


def check_text(check: AccountCheck) -> str:
    lines = [t("sendsay-check-title", account=check.account, endpoint=check.endpoint)]
    if check.key_works:
        lines.append(t("sendsay-check-key-ok"))
        lines.append(t("sendsay-check-lists", count=check.lists or 0))
    else:
        key = "sendsay-check-key-bad" if check.reached else "sendsay-check-unreachable"
        lines.append(t(key, problem=reason_text(check.problem or "")))
    if check.sender_confirmed is None:
        lines.append(t("sendsay-check-sender-unknown", sender=check.sender))
    else:
        key = "sendsay-check-sender-ok" if check.sender_confirmed else "sendsay-check-sender-bad"
        lines.append(t(key, sender=check.sender))
    if check.assumptions:
        lines += ["", t("sendsay-check-assumptions")]
        lines += [f"• {t(key)}" for key in check.assumptions]
    return "\n".join(lines)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsAdmin)
    router.message.register(sendsay_command, Command("sendsay"))
    return router
