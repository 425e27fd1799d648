"""People who are not staff: /start subscribes them to mailings, /stop unsubscribes.

A user who blocks the bot is suppressed as soon as Telegram tells us (``my_chat_member``
with status ``kicked``); unblocking does not resubscribe them: they press /start again.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import KICKED, ChatMemberUpdatedFilter, Command, CommandStart
from aiogram.types import ChatMemberUpdated, Message

from domain.usecases import subscribers
from domain.usecases.roles import SeenUser
from handlers.filters import IsStranger
from handlers.i18n import t
from handlers.services import Services


async def start(message: Message, services: Services) -> None:
    tg = message.from_user
    if tg is None:
        return
    await subscribers.subscribe(
        services.uow_factory,
        SeenUser(tg.id, tg.username, tg.full_name, tg.language_code),
        clock=services.clock,
    )
    await message.answer(t("subscribed", user_id=tg.id))


async def stop(message: Message, services: Services) -> None:
    changed = await subscribers.unsubscribe_chat(
        services.uow_factory, message.chat.id, clock=services.clock
    )
    await message.answer(t("unsubscribed" if changed else "not-subscribed"))


async def blocked(event: ChatMemberUpdated, services: Services) -> None:
    await subscribers.chat_blocked_bot(services.uow_factory, event.chat.id, clock=services.clock)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStranger)
    router.message.register(start, CommandStart())
    router.message.register(stop, Command("stop"))
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    return router
