"""/templates: the team's message templates. Browse them, open a card that shows the body
as the recipient will see it, create one step by step (name → subject → body), edit or
delete one (its author or an admin)."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from domain.ports import UnitOfWorkFactory
from domain.usecases import templates
from domain.users import User
from handlers.filters import IsStaff
from handlers.i18n import t
from handlers.templates_kb import (
    TAct,
    TemplateCD,
    confirm_delete_keyboard,
    edit_keyboard,
    show_card,
    show_index,
    step_keyboard,
)


class TemplateFlow(StatesGroup):
    naming = State()  # creating: the name, then the subject, then the body
    subject = State()
    body = State()
    editing_name = State()  # editing data["template_id"]
    editing_subject = State()
    editing_body = State()


STEPS = {  # creating: prompt, whether it can be skipped, the step before
    TemplateFlow.naming.state: ("templates-ask-name", False, None),
    TemplateFlow.subject.state: ("templates-ask-subject", True, TemplateFlow.naming),
    TemplateFlow.body.state: ("templates-ask-body", False, TemplateFlow.subject),
}
EDITS = {  # editing: state, prompt, field
    TAct.edit_name: (TemplateFlow.editing_name, "templates-ask-new-name", "name"),
    TAct.edit_subject: (TemplateFlow.editing_subject, "templates-ask-new-subject", "subject"),
    TAct.edit_body: (TemplateFlow.editing_body, "templates-ask-body", "body"),
}
FIELDS = {flow.state: field for flow, _, field in EDITS.values()}


async def ask_step(message: Message, state: FSMContext, step: State) -> None:
    prompt, skippable, before = STEPS[str(step.state)]
    await state.set_state(step)
    await message.answer(t(prompt), reply_markup=step_keyboard(skip=skippable, back=bool(before)))


async def templates_command(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory
) -> None:
    await state.clear()
    await show_index(message, user, uow_factory)


async def on_navigate(
    query: CallbackQuery,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    uow_factory: UnitOfWorkFactory,
    tz: tzinfo,
) -> None:
    if isinstance(query.message, Message):
        await state.clear()
        if callback_data.act is TAct.home:
            await show_index(query.message, user, uow_factory, callback_data.page, edit=True)
        elif callback_data.act is TAct.open:
            await show_card(
                query.message, user, uow_factory, tz, callback_data.template_id, edit=True
            )
        else:
            await ask_step(query.message, state, TemplateFlow.naming)
    await query.answer()


async def on_step(query: CallbackQuery, callback_data: TemplateCD, state: FSMContext) -> None:
    """Skip the subject or go one step back; a button of a finished dialog is stale."""
    current = STEPS.get(await state.get_state() or "")
    if not isinstance(query.message, Message) or current is None:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    if callback_data.act is TAct.skip and current[1]:
        await state.update_data(subject=None)
        await ask_step(query.message, state, TemplateFlow.body)
    elif callback_data.act is TAct.back and current[2] is not None:
        await ask_step(query.message, state, current[2])
    else:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()


async def on_change(
    query: CallbackQuery,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    uow_factory: UnitOfWorkFactory,
    tz: tzinfo,
) -> None:
    """Edit and delete buttons: the use cases refuse a template the caller does not own."""
    message, act, template_id = query.message, callback_data.act, callback_data.template_id
    if not isinstance(message, Message):
        await query.answer()
        return
    if act in EDITS:
        await templates.get(uow_factory, user.telegram_id, template_id, to_change=True)
        flow, prompt, field = EDITS[act]
        await state.set_state(flow)
        await state.update_data(template_id=template_id)
        markup = edit_keyboard(template_id, no_subject=field == "subject")
        await message.answer(t(prompt), reply_markup=markup)
    elif act is TAct.no_subject:
        await templates.update(uow_factory, user.telegram_id, template_id, subject=None)
        await state.clear()
        note = t("templates-saved")
        await show_card(message, user, uow_factory, tz, template_id, edit=True, note=note)
    elif act is TAct.delete:
        tpl = await templates.get(uow_factory, user.telegram_id, template_id, to_change=True)
        text = t("templates-confirm-delete", name=tpl.name)
        await message.edit_text(text, reply_markup=confirm_delete_keyboard(template_id))
    elif act is TAct.delete_yes:
        name = await templates.delete(uow_factory, user.telegram_id, template_id)
        await query.answer(t("templates-deleted", name=name))
        await show_index(message, user, uow_factory, edit=True)
        return
    await query.answer()


async def got_name(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory
) -> None:
    name = await templates.check_name(uow_factory, user.telegram_id, message.text or "")
    await state.update_data(name=name)
    await ask_step(message, state, TemplateFlow.subject)


async def got_subject(message: Message, state: FSMContext) -> None:
    await state.update_data(subject=templates.clean_subject(message.text))
    await ask_step(message, state, TemplateFlow.body)


async def got_body(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo
) -> None:
    # html_text: the message's entities (bold, links, spoilers…) as Telegram HTML.
    data = await state.get_data()
    tpl = await templates.create(
        uow_factory, user.telegram_id, data["name"], data.get("subject"), message.html_text
    )
    await state.clear()
    assert tpl.id is not None
    note = t("templates-created", name=tpl.name)
    await show_card(message, user, uow_factory, tz, tpl.id, note=note)


async def got_new_value(
    message: Message, state: FSMContext, user: User, uow_factory: UnitOfWorkFactory, tz: tzinfo
) -> None:
    template_id = (await state.get_data())["template_id"]
    field = FIELDS[await state.get_state() or ""]
    value = message.html_text if field == "body" else message.text
    await templates.update(uow_factory, user.telegram_id, template_id, **{field: value})
    await state.clear()
    await show_card(message, user, uow_factory, tz, template_id, note=t("templates-saved"))


async def not_text(message: Message) -> None:
    await message.answer(t("templates-text-only"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    router.message.register(templates_command, Command("templates"))
    navigate, step = {TAct.home, TAct.open, TAct.new}, {TAct.skip, TAct.back}
    router.callback_query.register(on_navigate, TemplateCD.filter(F.act.in_(navigate)))
    router.callback_query.register(on_step, TemplateCD.filter(F.act.in_(step)))
    router.callback_query.register(on_change, TemplateCD.filter())
    typed = F.text & ~F.text.startswith("/")  # commands keep working inside a flow
    router.message.register(got_name, TemplateFlow.naming, typed)
    router.message.register(got_subject, TemplateFlow.subject, typed)
    router.message.register(got_body, TemplateFlow.body, typed)
    for flow, _, _ in EDITS.values():
        router.message.register(got_new_value, flow, typed)
    router.message.register(not_text, StateFilter(TemplateFlow), ~F.text)
    return router
