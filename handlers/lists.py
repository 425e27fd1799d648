"""/lists: browse recipient lists, open a card, page through and search members,
create, rename and delete lists, add or remove one typed address."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.errors import InvalidInput
from domain.ports import AddressParser, UnitOfWorkFactory
from domain.usecases import lists
from domain.users import User
from handlers.filters import IsStaff
from handlers.i18n import t
from handlers.lists_kb import (
    Act,
    ListCD,
    cancel_keyboard,
    card_keyboard,
    confirm_delete_keyboard,
    index_keyboard,
    members_keyboard,
)
from handlers.lists_text import card_text, index_text, members_text
from handlers.replies import show_screen
from handlers.states import ListsFlow

PROMPTS = {
    Act.search: (ListsFlow.searching, "lists-ask-search"),
    Act.add: (ListsFlow.adding, "lists-ask-add"),
    Act.remove: (ListsFlow.removing, "lists-ask-remove"),
    Act.rename: (ListsFlow.renaming, "lists-ask-rename"),
}


async def show_index(
    message: Message, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo, edit: bool = False
) -> None:
    views = await lists.overview(uow_factory, user.telegram_id)
    text, markup = index_text(views, tz), index_keyboard(views)
    await show_screen(message, text, markup, edit=edit)


async def show_card(
    message: Message,
    user: User,
    uow_factory: UnitOfWorkFactory,
    tz: tzinfo,
    list_id: int,
    edit: bool = False,
    note: str = "",
) -> None:
    """The list's card; ``note`` (what just happened) goes above it in the same message."""
    v = await lists.view(uow_factory, user.telegram_id, list_id)
    can_manage = user.is_admin or v.rlist.owner_id == user.telegram_id
    markup = card_keyboard(list_id, can_manage)
    text = f"{note}\n\n{card_text(v, tz)}" if note else card_text(v, tz)
    await show_screen(message, text, markup, edit=edit)


async def lists_command(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo
) -> None:
    await state.clear()
    await show_index(message, user, uow_factory, tz)


async def on_list_button(
    query: CallbackQuery,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    uow_factory: UnitOfWorkFactory,
    tz: tzinfo,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    act, list_id = callback_data.act, callback_data.list_id
    if act is Act.home:
        await state.clear()
        await show_index(message, user, uow_factory, tz, edit=True)
    elif act is Act.new:
        await state.set_state(ListsFlow.naming)
        await message.answer(t("lists-ask-name"))
    elif act is Act.open:
        await state.clear()
        await show_card(message, user, uow_factory, tz, list_id, edit=True)
    elif act is Act.members:
        page = await lists.members(uow_factory, user.telegram_id, list_id, callback_data.page)
        name = (await lists.view(uow_factory, user.telegram_id, list_id)).rlist.name
        await message.edit_text(
            members_text(name, page, None), reply_markup=members_keyboard(list_id, page)
        )
    elif act in PROMPTS:
        await lists.view(uow_factory, user.telegram_id, list_id)  # exists, caller is staff
        flow, prompt = PROMPTS[act]
        await state.set_state(flow)
        await state.update_data(list_id=list_id)
        await message.answer(t(prompt), reply_markup=cancel_keyboard(list_id))
    elif act is Act.delete:
        v = await lists.view(uow_factory, user.telegram_id, list_id)
        await message.edit_text(
            t("lists-confirm-delete", name=v.rlist.name),
            reply_markup=confirm_delete_keyboard(list_id),
        )
    elif act is Act.delete_yes:
        name = await lists.delete(uow_factory, user.telegram_id, list_id)
        await query.answer(t("lists-deleted", name=name))
        await show_index(message, user, uow_factory, tz, edit=True)
        return
    await query.answer()


async def got_name(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo
) -> None:
    rlist = await lists.create(uow_factory, user.telegram_id, message.text or "")
    await state.clear()
    assert rlist.id is not None
    note = t("lists-created", name=rlist.name)
    await show_card(message, user, uow_factory, tz, rlist.id, note=note)


async def got_rename(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo
) -> None:
    list_id = (await state.get_data())["list_id"]
    rlist = await lists.rename(uow_factory, user.telegram_id, list_id, message.text or "")
    await state.clear()
    note = t("lists-renamed", name=rlist.name)
    await show_card(message, user, uow_factory, tz, list_id, note=note)


async def got_search(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory
) -> None:
    list_id = (await state.get_data())["list_id"]
    query = (message.text or "").strip()
    page = await lists.members(uow_factory, user.telegram_id, list_id, 0, query)
    name = (await lists.view(uow_factory, user.telegram_id, list_id)).rlist.name
    # stay in the search state: the manager may refine the query
    await message.answer(members_text(name, page, query), reply_markup=cancel_keyboard(list_id))


async def got_address(
    message: Message,
    state: FSMContext,
    user: User,
    uow_factory: UnitOfWorkFactory,
    address_parser: AddressParser,
) -> None:
    list_id = (await state.get_data())["list_id"]
    text = message.text or ""
    try:
        await _add_or_remove(message, state, user, uow_factory, address_parser, list_id, text)
    except InvalidInput as exc:  # a typed address: say what it should look like
        await message.answer(
            t("lists-address-invalid", address=text.strip()[:100], reason=t(exc.key)),
            reply_markup=cancel_keyboard(list_id),
        )


async def _add_or_remove(
    message: Message,
    state: FSMContext,
    user: User,
    uow_factory: UnitOfWorkFactory,
    address_parser: AddressParser,
    list_id: int,
    text: str,
) -> None:
    if await state.get_state() == ListsFlow.adding.state:
        address, added = await lists.add_address(
            uow_factory, address_parser, user.telegram_id, list_id, text
        )
        key = "lists-address-added" if added else "lists-address-already"
        if address.is_suppressed:
            key = "lists-address-added-suppressed" if added else key
        await message.answer(t(key, address=address.value), reply_markup=cancel_keyboard(list_id))
    else:
        value, removed = await lists.remove_address(
            uow_factory, address_parser, user.telegram_id, list_id, text
        )
        key = "lists-address-removed" if removed else "lists-address-not-member"
        await message.answer(t(key, address=value), reply_markup=cancel_keyboard(list_id))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    router.message.register(lists_command, Command("lists"))
    router.callback_query.register(on_list_button, ListCD.filter())
    typed = F.text & ~F.text.startswith("/")  # commands keep working inside a flow
    router.message.register(got_name, ListsFlow.naming, typed)
    router.message.register(got_rename, ListsFlow.renaming, typed)
    router.message.register(got_search, ListsFlow.searching, typed)
    router.message.register(got_address, ListsFlow.adding, typed)
    router.message.register(got_address, ListsFlow.removing, typed)
    return router
