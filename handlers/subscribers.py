"""People who are not staff: /start subscribes them to mailings, /stop unsubscribes.

A user who blocks the bot is suppressed as soon as Telegram tells us (``my_chat_member``
with status ``kicked``); unblocking does not resubscribe them: they press /start again.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import KICKED, ChatMemberUpdatedFilter, Command, CommandStart
from aiogram.types import ChatMemberUpdated, Message

from domain.ports import UnitOfWorkFactory
from domain.usecases import subscribers
from domain.usecases.roles import SeenUser
from handlers.filters import IsStranger
from handlers.i18n import t


async def start(message: Message, uow_factory: UnitOfWorkFactory) -> None:
    tg = message.from_user
    if tg is None:
        return
    await subscribers.subscribe(
        uow_factory,
        SeenUser(tg.id, tg.username, tg.full_name, tg.language_code),
    )
    await message.answer(t("subscribed", user_id=tg.id))


async def stop(message: Message, uow_factory: UnitOfWorkFactory) -> None:
    changed = await subscribers.unsubscribe_chat(uow_factory, message.chat.id)
    await message.answer(t("unsubscribed" if changed else "not-subscribed"))


async def blocked(event: ChatMemberUpdated, uow_factory: UnitOfWorkFactory) -> None:
    await subscribers.chat_blocked_bot(uow_factory, event.chat.id)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStranger)
    router.message.register(start, CommandStart())
    router.message.register(stop, Command("stop"))
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    return router
