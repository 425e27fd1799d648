"""``/hooks`` (admins): event webhook endpoints, each with its recent failures, and
buttons to add one (its secret is shown once), send a test event, or delete one."""

from __future__ import annotations

import html
from datetime import tzinfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.ports.webhooks import WebhookPoster
from domain.usecases import webhooks as hooks
from domain.users import User
from domain.webhooks import SUBSCRIBABLE, EndpointHealth, OutboxItem, OutboxStatus
from handlers.callbacks import HookAct, HookCD
from handlers.filters import ButtonMessage, IsAdmin
from handlers.i18n import t
from handlers.services import Services
from handlers.states import HooksFlow

SHOWN_ERROR = 120


async def show(message: Message, user: User, services: Services) -> None:
    text, keyboard = await _page(user, services)
    await message.answer(text, reply_markup=keyboard, disable_web_page_preview=True)


async def _page(user: User, services: Services) -> tuple[str, InlineKeyboardMarkup]:
    found = await hooks.list_endpoints(services.uow_factory, user.telegram_id)
    return _text(found, services.tz), _keyboard(found)


def _text(found: list[EndpointHealth], tz: tzinfo) -> str:
    if not found:
        return t("hooks-none")
    lines = [t("hooks-title")]
    for health in found:
        endpoint = health.endpoint
        events = ", ".join(sorted(e.value for e in endpoint.events))
        lines += [
            "",
            t(
                "hooks-line",
                id=endpoint.id,
                url=html.escape(endpoint.url),
                events=events,
                pending=health.pending,
            ),
        ]
        lines += [_failure(item, tz) for item in health.failures]
    return "\n".join(lines)


def _failure(item: OutboxItem, tz: tzinfo) -> str:
    error = html.escape((item.last_error or "")[:SHOWN_ERROR])
    made = item.created_at.astimezone(tz).strftime("%d.%m %H:%M")
    if item.status is OutboxStatus.failed:
        state = t("hooks-given-up")
    else:
        state = t("hooks-next-try", when=item.next_at.astimezone(tz).strftime("%d.%m %H:%M"))
    return t(
        "hooks-failure",
        when=made,
        event=item.event_type.value,
        attempts=item.attempts,
        error=error,
        state=state,
    )


def _keyboard(found: list[EndpointHealth]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for health in found:
        endpoint_id = health.endpoint.id or 0
        kb.button(
            text=t("hooks-test-button", id=endpoint_id),
            callback_data=HookCD(action=HookAct.test, endpoint_id=endpoint_id),
        )
        kb.button(
            text=t("hooks-delete-button", id=endpoint_id),
            callback_data=HookCD(action=HookAct.delete, endpoint_id=endpoint_id),
        )
    kb.button(text=t("hooks-add-button"), callback_data=HookCD(action=HookAct.add))
    kb.adjust(*([2] * len(found)), 1)
    return kb.as_markup()


async def refresh(query: CallbackQuery, message: Message, user: User, services: Services) -> None:
    text, keyboard = await _page(user, services)
    await message.edit_text(text, reply_markup=keyboard, disable_web_page_preview=True)
    await query.answer()


async def ask_url(query: CallbackQuery, state: FSMContext, user: User, services: Services) -> None:
    await hooks.list_endpoints(services.uow_factory, user.telegram_id)  # admins only
    await state.set_state(HooksFlow.url)
    await query.answer()
    if query.message is not None:
        events = " ".join(f"<code>{e.value}</code>" for e in SUBSCRIBABLE)
        await query.message.answer(t("hooks-ask-url", events=events))


async def add(message: Message, state: FSMContext, user: User, services: Services) -> None:
    """``<url> [event …]``: the endpoint is made, its secret shown once."""
    words = (message.text or "").split()
    if not words:
        await message.answer(t("hooks-ask-url", events=""))
        return
    endpoint, secret = await hooks.add_endpoint(
        services.uow_factory, _poster(services), user.telegram_id, words[0], words[1:]
    )
    await state.clear()
    events = ", ".join(sorted(e.value for e in endpoint.events))
    await message.answer(t("hooks-created", id=endpoint.id, events=events, secret=secret))
    await show(message, user, services)


async def test(
    query: CallbackQuery, callback_data: HookCD, user: User, services: Services
) -> None:
    answer = await hooks.try_endpoint(
        services.uow_factory,
        _poster(services),
        user.telegram_id,
        callback_data.endpoint_id,
        services.clock.now(),
    )
    endpoint_id = callback_data.endpoint_id
    if answer.ok:
        text = t("hooks-test-ok", id=endpoint_id, status=answer.status)
    else:
        error = (answer.error or f"HTTP {answer.status}")[:SHOWN_ERROR]
        text = t("hooks-test-failed", id=endpoint_id, error=error)
    await query.answer(text, show_alert=True)


async def ask_delete(
    query: CallbackQuery, callback_data: HookCD, message: Message, user: User, services: Services
) -> None:
    health = await hooks.endpoint_health(
        services.uow_factory, user.telegram_id, callback_data.endpoint_id
    )
    kb = InlineKeyboardBuilder()
    endpoint_id = callback_data.endpoint_id
    kb.button(
        text=t("hooks-delete-yes"),
        callback_data=HookCD(action=HookAct.delete_yes, endpoint_id=endpoint_id),
    )
    kb.button(text=t("hooks-delete-no"), callback_data=HookCD(action=HookAct.back))
    url = html.escape(health.endpoint.url)
    await message.edit_text(
        t("hooks-delete-ask", id=endpoint_id, url=url, pending=health.pending),
        reply_markup=kb.as_markup(),
        disable_web_page_preview=True,
    )
    await query.answer()


async def delete(
    query: CallbackQuery, callback_data: HookCD, message: Message, user: User, services: Services
) -> None:
    await hooks.delete_endpoint(services.uow_factory, user.telegram_id, callback_data.endpoint_id)
    text, keyboard = await _page(user, services)
    await message.edit_text(text, reply_markup=keyboard, disable_web_page_preview=True)
    await query.answer(t("hooks-deleted", id=callback_data.endpoint_id))


def _poster(services: Services) -> WebhookPoster:
    assert services.hooks is not None, "the bot process always has its webhook poster"
    return services.hooks


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsAdmin)
    router.callback_query.filter(IsAdmin)
    router.message.register(show, Command("hooks"))
    router.message.register(add, HooksFlow.url, F.text, ~F.text.startswith("/"))  # /cancel
    router.callback_query.register(ask_url, HookCD.filter(F.action == HookAct.add))
    router.callback_query.register(test, HookCD.filter(F.action == HookAct.test))
    router.callback_query.register(
        ask_delete, HookCD.filter(F.action == HookAct.delete), ButtonMessage
    )
    router.callback_query.register(
        delete, HookCD.filter(F.action == HookAct.delete_yes), ButtonMessage
    )
    router.callback_query.register(refresh, HookCD.filter(F.action == HookAct.back), ButtonMessage)
    return router
