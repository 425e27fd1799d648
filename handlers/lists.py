"""/lists: browse recipient lists, open a card, page through and search members,
create, rename and delete lists, add or remove one typed address."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.errors import InvalidInput
from domain.usecases import lists
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.lists_kb import (
    ListAct,
    ListCD,
    cancel_keyboard,
    card_keyboard,
    confirm_delete_keyboard,
    index_keyboard,
    members_keyboard,
)
from handlers.lists_text import card_text, index_text, members_text
from handlers.replies import show_screen
from handlers.services import Services
from handlers.states import ListsFlow

PROMPTS = {
    ListAct.search: (ListsFlow.searching, "lists-ask-search"),
    ListAct.add: (ListsFlow.adding, "lists-ask-add"),
    ListAct.remove: (ListsFlow.removing, "lists-ask-remove"),
    ListAct.rename: (ListsFlow.renaming, "lists-ask-rename"),
}


async def show_index(message: Message, user: User, services: Services, edit: bool = False) -> None:
    views = await lists.overview(services.uow_factory, user.telegram_id)
    text, markup = index_text(views, services.tz), index_keyboard(views)
    await show_screen(message, text, markup, edit=edit)


async def show_card(
    message: Message,
    user: User,
    services: Services,
    list_id: int,
    edit: bool = False,
    note: str = "",
) -> None:
    """The list's card; ``note`` (what just happened) goes above it in the same message."""
    v = await lists.view(services.uow_factory, user.telegram_id, list_id)
    can_manage = user.is_admin or v.rlist.owner_id == user.telegram_id
    markup = card_keyboard(list_id, can_manage)
    text = card_text(v, services.tz)
    await show_screen(message, f"{note}\n\n{text}" if note else text, markup, edit=edit)


async def lists_command(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.clear()
    await show_index(message, user, services)


# -- buttons: each answers the press after its work, so a refusal comes as an alert --------
async def on_home(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.clear()
    await show_index(message, user, services, edit=True)
    await query.answer()


async def on_new(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.set_state(ListsFlow.naming)
    await message.answer(t("lists-ask-name"))
    await query.answer()


async def on_open(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    await state.clear()
    await show_card(message, user, services, callback_data.list_id, edit=True)
    await query.answer()


async def on_members(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    user: User,
    services: Services,
) -> None:
    uow_factory, uid, list_id = services.uow_factory, user.telegram_id, callback_data.list_id
    page = await lists.members(uow_factory, uid, list_id, callback_data.page)
    name = (await lists.view(uow_factory, uid, list_id)).rlist.name
    await message.edit_text(
        members_text(name, page, None), reply_markup=members_keyboard(list_id, page)
    )
    await query.answer()


async def on_prompt(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Search, add, remove and rename ask for a typed answer (``PROMPTS``)."""
    list_id = callback_data.list_id
    await lists.view(services.uow_factory, user.telegram_id, list_id)  # exists, caller is staff
    flow, prompt = PROMPTS[callback_data.action]
    await state.set_state(flow)
    await state.update_data(list_id=list_id)
    await message.answer(t(prompt), reply_markup=cancel_keyboard(list_id))
    await query.answer()


async def on_delete(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    user: User,
    services: Services,
) -> None:
    """Asks first; the list goes on "yes"."""
    list_id = callback_data.list_id
    v = await lists.view(services.uow_factory, user.telegram_id, list_id)
    await message.edit_text(
        t("lists-confirm-delete", name=v.rlist.name),
        reply_markup=confirm_delete_keyboard(list_id),
    )
    await query.answer()


async def on_delete_yes(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    user: User,
    services: Services,
) -> None:
    name = await lists.delete(services.uow_factory, user.telegram_id, callback_data.list_id)
    await query.answer(t("lists-deleted", name=name))
    await show_index(message, user, services, edit=True)


# -- typed answers ------------------------------------------------------------------------
async def got_name(message: Message, state: FSMContext, user: User, services: Services) -> None:
    rlist = await lists.create(services.uow_factory, user.telegram_id, message.text or "")
    await state.clear()
    assert rlist.id is not None
    note = t("lists-created", name=rlist.name)
    await show_card(message, user, services, rlist.id, note=note)


async def got_rename(message: Message, state: FSMContext, user: User, services: Services) -> None:
    list_id = (await state.get_data())["list_id"]
    rlist = await lists.rename(services.uow_factory, user.telegram_id, list_id, message.text or "")
    await state.clear()
    note = t("lists-renamed", name=rlist.name)
    await show_card(message, user, services, list_id, note=note)


async def got_search(message: Message, state: FSMContext, user: User, services: Services) -> None:
    list_id = (await state.get_data())["list_id"]
    query = (message.text or "").strip()
    page = await lists.members(services.uow_factory, user.telegram_id, list_id, 0, query)
    name = (await lists.view(services.uow_factory, user.telegram_id, list_id)).rlist.name
    # stay in the search state: the manager may refine the query
    await message.answer(members_text(name, page, query), reply_markup=cancel_keyboard(list_id))


async def got_address(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    list_id = (await state.get_data())["list_id"]
    text = message.text or ""
    try:
        await _add_or_remove(message, state, user, services, list_id, text)
    except InvalidInput as exc:  # a typed address: say what it should look like
        await message.answer(
            t("lists-address-invalid", address=text.strip()[:100], reason=t(exc.key)),
            reply_markup=cancel_keyboard(list_id),
        )


async def _add_or_remove(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
    list_id: int,
    text: str,
) -> None:
    if await state.get_state() == ListsFlow.adding.state:
        address, added = await lists.add_address(
            services.uow_factory, services.address_parser, user.telegram_id, list_id, text
        )
        key = "lists-address-added" if added else "lists-address-already"
        if address.is_suppressed:
            key = "lists-address-added-suppressed" if added else key
        await message.answer(t(key, address=address.value), reply_markup=cancel_keyboard(list_id))
    else:
        value, removed = await lists.remove_address(
            services.uow_factory, services.address_parser, user.telegram_id, list_id, text
        )
        key = "lists-address-removed" if removed else "lists-address-not-member"
        await message.answer(t(key, address=value), reply_markup=cancel_keyboard(list_id))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(lists_command, Command("lists"))
    button = router.callback_query.register
    button(on_home, ListCD.filter(F.action == ListAct.home))
    button(on_new, ListCD.filter(F.action == ListAct.new))
    button(on_open, ListCD.filter(F.action == ListAct.open))
    button(on_members, ListCD.filter(F.action == ListAct.members))
    button(on_prompt, ListCD.filter(F.action.in_(PROMPTS)))
    button(on_delete, ListCD.filter(F.action == ListAct.delete))
    button(on_delete_yes, ListCD.filter(F.action == ListAct.delete_yes))
    typed = F.text & ~F.text.startswith("/")  # commands keep working inside a flow
    router.message.register(got_name, ListsFlow.naming, typed)
    router.message.register(got_rename, ListsFlow.renaming, typed)
    router.message.register(got_search, ListsFlow.searching, typed)
    router.message.register(got_address, ListsFlow.adding, typed)
    router.message.register(got_address, ListsFlow.removing, typed)
    return router
