"""The segment screen of the dialog's lists step: conditions added with buttons (a field
that exists, an operator, a typed value checked at once), all/any, lists and saved
segments left out, saved segments used or saved; the live count after every change.

Its presses count only while the dialog is at the lists step (``OnSegment``)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.mailings import Mailing
from domain.segments import NO_VALUE, TAGS, Op
from domain.usecases import lists, mailings, segments
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_flow import step_states
from handlers.mailing_lists import lists_screen
from handlers.mailing_segment_kb import (
    SegAct,
    SegmentCD,
    exclude_lists_keyboard,
    exclude_mailings_keyboard,
    fields_keyboard,
    ops_keyboard,
    saved_keyboard,
    segment_keyboard,
    segment_text,
    value_hint,
)
from handlers.mailings_kb import Step
from handlers.services import Services
from handlers.states import MailingFlow

OPS = {op.value: op for op in Op}
Handler = Callable[..., Awaitable[None]]


class OnSegment(Filter):
    """A press of the segment screen while the dialog is at the lists step."""

    async def __call__(self, query: CallbackQuery, raw_state: str | None = None) -> bool:
        return raw_state in step_states(Step.lists)


async def _draft(
    query: CallbackQuery, state: FSMContext, user: User, services: Services
) -> Mailing:
    """The dialog's draft (the press is answered by ``answered``)."""
    mailing_id = (await state.get_data())["mailing_id"]
    return await mailings.get(services.uow_factory, user.telegram_id, mailing_id)


async def screen(
    message: Message,
    user_id: int,
    services: Services,
    mailing: Mailing,
    *,
    edit: bool = False,
    note: str = "",
) -> None:
    assert mailing.id is not None
    audience = await segments.reachable(services.uow_factory, user_id, mailing.id)
    names = {
        v.rlist.id or 0: v.rlist.name for v in await lists.overview(services.uow_factory, user_id)
    }
    others = await segments.excluded_names(services.uow_factory, user_id, mailing)
    text = note + segment_text(mailing, audience, names, others)
    markup = segment_keyboard(mailing)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def on_open(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    await state.set_state(MailingFlow.segment)
    await screen(message, user.telegram_id, services, mailing, edit=True)


async def on_add(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    assert mailing.id is not None
    found = await segments.fields(services.uow_factory, user.telegram_id, mailing.id)
    await state.update_data(seg_fields=found)
    await message.edit_text(t("segment-ask-field"), reply_markup=fields_keyboard(found))


async def on_field(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    found = (await state.get_data()).get("seg_fields") or []
    index = int(callback_data.value) if callback_data.value.isdigit() else -1
    if not 0 <= index < len(found):
        await message.answer(t("error-stale-button"))
        return
    field = found[index]
    await state.update_data(seg_field=field)
    if field == TAGS:
        await _ask_value(message, state, Op.has_tag)
        return
    await message.edit_text(t("segment-ask-op", field=field), reply_markup=ops_keyboard())


async def on_op(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    mailing = await _draft(query, state, user, services)
    field = (await state.get_data()).get("seg_field")
    op = OPS.get(callback_data.value)
    if field is None or op is None or mailing.id is None:
        await message.answer(t("error-stale-button"))
        return
    if op in NO_VALUE:
        uid = user.telegram_id
        mailing = await segments.add_condition(services.uow_factory, uid, mailing.id, field, op)
        await screen(message, uid, services, mailing, edit=True)
        return
    await _ask_value(message, state, op)


async def _ask_value(message: Message, state: FSMContext, op: Op) -> None:
    await state.update_data(seg_op=op.value)
    await state.set_state(MailingFlow.segment_value)
    await message.answer(value_hint(op))


async def got_value(message: Message, state: FSMContext, user: User, services: Services) -> None:
    """A wrong value is refused by the error middleware; the question stays open."""
    data = await state.get_data()
    op = OPS[data["seg_op"]]
    uid = user.telegram_id
    mailing = await segments.add_condition(
        services.uow_factory, uid, data["mailing_id"], data["seg_field"], op, message.text
    )
    await state.set_state(MailingFlow.segment)
    await screen(message, uid, services, mailing)


async def on_drop(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    mailing = await _draft(query, state, user, services)
    if not callback_data.value.isdigit() or mailing.id is None:
        return
    uid = user.telegram_id
    changed = await segments.remove_condition(
        services.uow_factory, uid, mailing.id, int(callback_data.value)
    )
    await screen(message, uid, services, changed, edit=True)


async def on_match(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    assert mailing.id is not None
    uid = user.telegram_id
    changed = await segments.switch_match(services.uow_factory, uid, mailing.id)
    await screen(message, uid, services, changed, edit=True)


async def on_saved(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await _draft(query, state, user, services)
    saved = await segments.saved_segments(services.uow_factory, user.telegram_id)
    key = "segment-saved-title" if saved else "segment-no-saved"
    await message.edit_text(t(key), reply_markup=saved_keyboard(saved))


async def on_use(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    mailing = await _draft(query, state, user, services)
    if not callback_data.value.isdigit() or mailing.id is None:
        return
    uid = user.telegram_id
    exclude = callback_data.action is SegAct.exclude
    changed = await segments.use_saved(
        services.uow_factory, uid, mailing.id, int(callback_data.value), exclude=exclude
    )
    await screen(message, uid, services, changed, edit=True)


async def on_save(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await _draft(query, state, user, services)
    await state.set_state(MailingFlow.segment_name)
    await message.answer(t("segment-ask-name"))


async def got_name(message: Message, state: FSMContext, user: User, services: Services) -> None:
    mailing_id = (await state.get_data())["mailing_id"]
    uid = user.telegram_id
    saved = await segments.save(
        services.uow_factory, uid, mailing_id, message.text or "", services.field_indexes
    )
    await state.set_state(MailingFlow.segment)
    mailing = await mailings.get(services.uow_factory, uid, mailing_id)
    await screen(
        message, uid, services, mailing, note=t("segment-saved", name=saved.name) + "\n\n"
    )


async def on_lists(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    await _show_exclusions(message, user.telegram_id, services, mailing)


async def _show_exclusions(
    message: Message, user_id: int, services: Services, mailing: Mailing
) -> None:
    views = await lists.overview(services.uow_factory, user_id)
    others = [
        (v.rlist.id, v.rlist.name)
        for v in views
        if v.rlist.id is not None and v.rlist.id not in mailing.list_ids
    ]
    key = "segment-except-lists-title" if others else "segment-except-no-lists"
    markup = exclude_lists_keyboard(others, mailing.targeting.exclude_lists)
    await message.edit_text(t(key), reply_markup=markup)


async def on_xlist(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    mailing = await _draft(query, state, user, services)
    if not callback_data.value.isdigit() or mailing.id is None:
        return
    uid = user.telegram_id
    changed = await segments.toggle_excluded_list(
        services.uow_factory, uid, mailing.id, int(callback_data.value)
    )
    await _show_exclusions(message, uid, services, changed)


async def on_mailings(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    await _show_mailings(message, user.telegram_id, services, mailing)


async def _show_mailings(
    message: Message, user_id: int, services: Services, mailing: Mailing
) -> None:
    """The caller's latest mailings (but this one)."""
    page = await mailings.browse(services.uow_factory, user_id, 0)
    others = [(m.id, m.name) for m in page.items if m.id is not None and m.id != mailing.id]
    key = "segment-except-mailings-title" if others else "segment-except-no-mailings"
    targeting = mailing.targeting
    markup = exclude_mailings_keyboard(others, targeting.exclude_got, targeting.exclude_clicked)
    await message.edit_text(t(key), reply_markup=markup)


async def on_got_or_clicked(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    mailing = await _draft(query, state, user, services)
    if not callback_data.value.isdigit() or mailing.id is None:
        return
    uid = user.telegram_id
    changed = await segments.toggle_excluded_mailing(
        services.uow_factory,
        uid,
        mailing.id,
        int(callback_data.value),
        clicked=callback_data.action is SegAct.clicked,
    )
    await _show_mailings(message, uid, services, changed)


async def on_done(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    mailing = await _draft(query, state, user, services)
    await state.set_state(MailingFlow.lists)
    text, markup = await lists_screen(user.telegram_id, services, mailing)
    await message.answer(text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(got_value, MailingFlow.segment_value, typed)
    router.message.register(got_name, MailingFlow.segment_name, typed)
    handlers: dict[SegAct, Handler] = {
        SegAct.open: on_open,
        SegAct.add: on_add,
        SegAct.field: on_field,
        SegAct.op: on_op,
        SegAct.drop: on_drop,
        SegAct.match: on_match,
        SegAct.saved: on_saved,
        SegAct.use: on_use,
        SegAct.exclude: on_use,
        SegAct.save: on_save,
        SegAct.lists: on_lists,
        SegAct.xlist: on_xlist,
        SegAct.mailings: on_mailings,
        SegAct.got: on_got_or_clicked,
        SegAct.clicked: on_got_or_clicked,
        SegAct.done: on_done,
    }
    for action, handler in handlers.items():
        press = SegmentCD.filter(F.action == action)
        router.callback_query.register(answered(handler), press, OnSegment())
    return router


def answered(handler: Handler) -> Handler:
    """The press is answered once the handler's work is done; a refusal (a ``DomainError``)
    is answered by the error middleware with its alert instead."""

    @functools.wraps(handler)
    async def wrapper(query: CallbackQuery, **data: Any) -> None:
        await handler(query, **data)
        await query.answer()

    return wrapper
