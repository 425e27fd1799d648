"""/templates: the team's message templates. Browse them, open a card that shows the body
as the recipient will see it, create one step by step (name → subject → body), edit or
delete one (its author or an admin)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from domain.usecases import templates
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.services import Services
from handlers.templates_kb import (
    TemplateAct,
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
    TemplateAct.edit_name: (TemplateFlow.editing_name, "templates-ask-new-name", "name"),
    TemplateAct.edit_subject: (
        TemplateFlow.editing_subject,
        "templates-ask-new-subject",
        "subject",
    ),
    TemplateAct.edit_body: (TemplateFlow.editing_body, "templates-ask-body", "body"),
}
FIELDS = {flow.state: field for flow, _, field in EDITS.values()}


async def ask_step(message: Message, state: FSMContext, step: State) -> None:
    prompt, skippable, before = STEPS[str(step.state)]
    await state.set_state(step)
    await message.answer(t(prompt), reply_markup=step_keyboard(skip=skippable, back=bool(before)))


async def templates_command(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.clear()
    await show_index(message, user, services)


# -- browsing -----------------------------------------------------------------------------
async def on_home(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """The index (a page of it); also Cancel of the creation dialog."""
    await state.clear()
    await show_index(message, user, services, callback_data.page, edit=True)
    await query.answer()


async def on_open(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    await state.clear()
    await show_card(message, user, services, callback_data.template_id, edit=True)
    await query.answer()


# -- creating: new, skip the subject, one step back ----------------------------------------
async def on_new(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    await state.clear()
    await ask_step(message, state, TemplateFlow.naming)
    await query.answer()


async def on_skip(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """No subject; a button of a finished dialog is stale."""
    current = STEPS.get(await state.get_state() or "")
    if current is None or not current[1]:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await state.update_data(subject=None)
    await ask_step(message, state, TemplateFlow.body)
    await query.answer()


async def on_back(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    current = STEPS.get(await state.get_state() or "")
    if current is None or current[2] is None:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await ask_step(message, state, current[2])
    await query.answer()


# -- changing: the use cases refuse a template the caller does not own ---------------------
async def on_edit_field(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Name, subject or body: asks for the new value (``EDITS``)."""
    template_id = callback_data.template_id
    await templates.get(services.uow_factory, user.telegram_id, template_id, to_change=True)
    flow, prompt, field = EDITS[callback_data.action]
    await state.set_state(flow)
    await state.update_data(template_id=template_id)
    markup = edit_keyboard(template_id, no_subject=field == "subject")
    await message.answer(t(prompt), reply_markup=markup)
    await query.answer()


async def on_no_subject(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    template_id = callback_data.template_id
    await templates.update(services.uow_factory, user.telegram_id, template_id, subject=None)
    await state.clear()
    note = t("templates-saved")
    await show_card(message, user, services, template_id, edit=True, note=note)
    await query.answer()


async def on_delete(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    user: User,
    services: Services,
) -> None:
    """Asks first; the template goes on "yes"."""
    template_id = callback_data.template_id
    tpl = await templates.get(services.uow_factory, user.telegram_id, template_id, to_change=True)
    text = t("templates-confirm-delete", name=tpl.name)
    await message.edit_text(text, reply_markup=confirm_delete_keyboard(template_id))
    await query.answer()


async def on_delete_yes(
    query: CallbackQuery,
    message: Message,
    callback_data: TemplateCD,
    user: User,
    services: Services,
) -> None:
    uid = user.telegram_id
    name = await templates.delete(services.uow_factory, uid, callback_data.template_id)
    await query.answer(t("templates-deleted", name=name))
    await show_index(message, user, services, edit=True)


# -- typed answers ------------------------------------------------------------------------
async def got_name(message: Message, state: FSMContext, user: User, services: Services) -> None:
    name = await templates.check_name(services.uow_factory, user.telegram_id, message.text or "")
    await state.update_data(name=name)
    await ask_step(message, state, TemplateFlow.subject)


async def got_subject(message: Message, state: FSMContext) -> None:
    await state.update_data(subject=templates.clean_subject(message.text))
    await ask_step(message, state, TemplateFlow.body)


async def got_body(message: Message, state: FSMContext, user: User, services: Services) -> None:
    # html_text: the message's entities (bold, links, spoilers…) as Telegram HTML.
    data = await state.get_data()
    tpl = await templates.create(
        services.uow_factory,
        user.telegram_id,
        data["name"],
        data.get("subject"),
        message.html_text,
    )
    await state.clear()
    assert tpl.id is not None
    note = t("templates-created", name=tpl.name)
    await show_card(message, user, services, tpl.id, note=note)


async def got_new_value(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    template_id = (await state.get_data())["template_id"]
    field = FIELDS[await state.get_state() or ""]
    value = message.html_text if field == "body" else message.text
    await templates.update(services.uow_factory, user.telegram_id, template_id, **{field: value})
    await state.clear()
    await show_card(message, user, services, template_id, note=t("templates-saved"))


async def not_text(message: Message) -> None:
    await message.answer(t("templates-text-only"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(templates_command, Command("templates"))
    button = router.callback_query.register
    button(on_home, TemplateCD.filter(F.action == TemplateAct.home))
    button(on_open, TemplateCD.filter(F.action == TemplateAct.open))
    button(on_new, TemplateCD.filter(F.action == TemplateAct.new))
    button(on_skip, TemplateCD.filter(F.action == TemplateAct.skip))
    button(on_back, TemplateCD.filter(F.action == TemplateAct.back))
    button(on_edit_field, TemplateCD.filter(F.action.in_(EDITS)))
    button(on_no_subject, TemplateCD.filter(F.action == TemplateAct.no_subject))
    button(on_delete, TemplateCD.filter(F.action == TemplateAct.delete))
    button(on_delete_yes, TemplateCD.filter(F.action == TemplateAct.delete_yes))
    typed = F.text & ~F.text.startswith("/")  # commands keep working inside a flow
    router.message.register(got_name, TemplateFlow.naming, typed)
    router.message.register(got_subject, TemplateFlow.subject, typed)
    router.message.register(got_body, TemplateFlow.body, typed)
    for flow, _, _ in EDITS.values():
        router.message.register(got_new_value, flow, typed)
    router.message.register(not_text, StateFilter(TemplateFlow), ~F.text)
    return router
