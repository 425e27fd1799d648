"""A list card's 🏷 Tag: the tag on the first line (``-tag`` takes it off), then the
members' addresses, one per line; the result goes above the card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.usecases import tags
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.lists import show_card
from handlers.lists_kb import TagCD, cancel_keyboard
from handlers.services import Services
from handlers.states import ListsFlow


async def on_tag(
    query: CallbackQuery, message: Message, callback_data: TagCD, state: FSMContext
) -> None:
    await state.set_state(ListsFlow.tagging)
    await state.update_data(list_id=callback_data.list_id)
    await message.answer(t("tags-ask"), reply_markup=cancel_keyboard(callback_data.list_id))
    await query.answer()


async def got_tags(message: Message, state: FSMContext, user: User, services: Services) -> None:
    """A refusal (no tag, a line that is no address) leaves the question open."""
    list_id = (await state.get_data())["list_id"]
    done = await tags.tag_members(
        services.uow_factory,
        services.address_parser,
        user.telegram_id,
        list_id,
        message.text or "",
    )
    key = "tags-added" if done.add else "tags-removed"
    note = t(key, tag=done.tag, count=done.changed)
    if done.not_members:
        note += "\n" + t("tags-not-members", values=", ".join(done.not_members)[:300])
    await state.clear()
    await show_card(message, user, services, list_id, note=note)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.callback_query.register(on_tag, TagCD.filter())
    router.message.register(got_tags, ListsFlow.tagging, F.text & ~F.text.startswith("/"))
    return router
