"""API tokens in the chat: ``/token [name]`` makes one (its secret is shown once),
``/tokens`` lists the caller's tokens with a button to revoke each."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.api_tokens import ApiToken
from domain.usecases import api_tokens
from domain.users import User
from handlers.callbacks import TokenCD
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.services import Services


async def make_token(
    message: Message, command: CommandObject, user: User, services: Services
) -> None:
    token, secret = await api_tokens.create_token(
        services.uow_factory, user.telegram_id, user.telegram_id, command.args
    )
    await message.answer(t("token-created", name=html.escape(token.name), secret=secret))


async def list_tokens(message: Message, user: User, services: Services) -> None:
    tokens = await api_tokens.list_tokens(services.uow_factory, user.telegram_id)
    await message.answer(_text(tokens, services.tz), reply_markup=_keyboard(tokens))


async def revoke(
    query: CallbackQuery,
    callback_data: TokenCD,
    message: Message,
    user: User,
    services: Services,
) -> None:
    uow_factory, uid = services.uow_factory, user.telegram_id
    token = await api_tokens.revoke_token(
        uow_factory, uid, callback_data.token_id, services.clock.now()
    )
    await query.answer(t("token-revoked", name=token.name))
    tokens = await api_tokens.list_tokens(uow_factory, uid)
    await message.edit_text(_text(tokens, services.tz), reply_markup=_keyboard(tokens))


def _text(tokens: list[ApiToken], tz: tzinfo) -> str:
    if not tokens:
        return t("tokens-none")
    lines = [t("tokens-title")]
    for token in tokens:
        used = (
            token.last_used_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
            if token.last_used_at
            else "—"
        )
        made = token.created_at.astimezone(tz).strftime("%d.%m.%Y") if token.created_at else "—"
        key = "tokens-line" if token.is_active else "tokens-line-revoked"
        lines.append(t(key, name=html.escape(token.name), hint=token.hint, made=made, used=used))
    return "\n".join(lines)


def _when(moment: datetime | None, tz: tzinfo, fmt: str) -> str:
    return moment.astimezone(tz).strftime(fmt) if moment is not None else "—"


def _keyboard(tokens: list[ApiToken]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    for token in tokens:
        if token.is_active and token.id is not None:
            kb.button(
                text=t("tokens-revoke-button", name=token.name),
                callback_data=TokenCD(token_id=token.id),
            )
    kb.adjust(1)
    return kb.as_markup() if any(token.is_active for token in tokens) else None


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    router.message.register(make_token, Command("token"))
    router.message.register(list_tokens, Command("tokens"))
    router.callback_query.register(revoke, TokenCD.filter(), ButtonMessage)
    return router
