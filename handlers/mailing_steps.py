"""The create/edit dialog: name → channel → subject → content → options → lists →
schedule → preview. Every answer is validated at its step and stored at once."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.mailings import Channel
from domain.usecases import mailings
from domain.users import User
from handlers.filters import IsStaff
from handlers.i18n import t
from handlers.mailing_flow import dialog_mailing, following, previous
from handlers.mailing_lists import ask_lists, toggle_list
from handlers.mailing_preview import show_preview
from handlers.mailing_schedule import (
    ask_schedule,
    got_datetime,
    got_recurring,
    got_schedule_end,
    on_schedule_button,
)
from handlers.mailing_templates import offer_templates, use_template
from handlers.mailings import send_card
from handlers.mailings_kb import DialogCD, Step, channel_keyboard, nav, nav_keyboard
from handlers.states import MailingFlow

STATES = {
    Step.name: MailingFlow.name,
    Step.channel: MailingFlow.channel,
    Step.subject: MailingFlow.subject,
    Step.content: MailingFlow.content,
    Step.options: MailingFlow.options,
    Step.lists: MailingFlow.lists,
    Step.schedule: MailingFlow.schedule,
    Step.preview: MailingFlow.preview,
}
Deps = dict[str, Any]
# Sub-states that belong to a step: its buttons stay valid while the manager types.
SUBSTATES = {
    Step.options: (MailingFlow.buttons,),
    Step.schedule: (MailingFlow.schedule_at, MailingFlow.schedule_cron, MailingFlow.schedule_end),
}


def step_states(step: Step) -> set[str | None]:
    return {s.state for s in (STATES[step], *SUBSTATES.get(step, ()))}


async def show(step: Step, message: Message, state: FSMContext, user_id: int, deps: Deps) -> None:
    """Ask the question of ``step`` (and remember that we are there)."""
    await state.set_state(STATES[step])
    mailing = await dialog_mailing(state, user_id, deps)
    first = mailing is None or (await state.get_data()).get("mode") == "edit"
    if step is Step.name:
        current = f"\n\n{t('dialog-current', value=mailing.name)}" if mailing else ""
        await message.answer(
            t("dialog-ask-name") + current, reply_markup=nav_keyboard(step, False)
        )
    elif step is Step.channel:
        await message.answer(
            t("dialog-ask-channel"), reply_markup=channel_keyboard(deps["available_channels"])
        )
    elif step is Step.subject:
        await message.answer(t("dialog-ask-subject"), reply_markup=nav_keyboard(step, not first))
    elif step is Step.content:
        await message.answer(t("dialog-ask-content"), reply_markup=content_keyboard())
    elif step is Step.options and mailing is not None:
        await message.answer(
            t("dialog-ask-options"), reply_markup=options_keyboard(mailing.options)
        )
    elif step is Step.lists and mailing is not None:
        await ask_lists(message, user_id, deps, mailing)
    elif step is Step.schedule and mailing is not None:
        await ask_schedule(message, deps, mailing)
    elif step is Step.preview and mailing is not None and mailing.id is not None:
        await state.clear()
        await show_preview(message, user_id, deps, mailing.id)


async def advance(
    message: Message, state: FSMContext, user_id: int, deps: Deps, done: Step
) -> None:
    """After ``done`` was answered: the next step, or back to the card in edit mode."""
    mailing = await dialog_mailing(state, user_id, deps)
    if (await state.get_data()).get("mode") == "edit" and mailing and mailing.id:
        await state.clear()
        await send_card(message, user_id, deps, mailing.id, note_key="mailings-saved")
        return
    await show(following(done, mailing), message, state, user_id, deps)


def content_keyboard() -> Any:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("dialog-from-template"),
        callback_data=DialogCD(step=Step.content, action="templates"),
    )
    nav(kb, Step.content)
    kb.adjust(1, 2)
    return kb.as_markup()


def options_keyboard(options: dict[str, Any]) -> Any:
    kb = InlineKeyboardBuilder()
    for name, default in (("link_preview", True), ("silent", False), ("protect", False)):
        on = bool(options.get(name, default))
        kb.button(
            text=t(f"dialog-option-{name}", state=t("on" if on else "off")),
            callback_data=DialogCD(step=Step.options, action="toggle", value=name),
        )
    rows = options.get("buttons") or []
    kb.button(
        text=t("dialog-option-buttons", count=sum(len(r) for r in rows)),
        callback_data=DialogCD(step=Step.options, action="buttons"),
    )
    kb.button(text=t("dialog-next"), callback_data=DialogCD(step=Step.options, action="next"))
    nav(kb, Step.options)
    kb.adjust(1, 1, 1, 1, 1, 2)
    return kb.as_markup()


# -- entry points -------------------------------------------------------------------------
async def new_command(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    await state.clear()
    await state.update_data(mode="create")
    await show(Step.name, message, state, user.telegram_id, deps)


async def on_dialog_button(
    query: CallbackQuery, callback_data: DialogCD, state: FSMContext, user: User, **deps: Any
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    step, action = callback_data.step, callback_data.action
    uid = user.telegram_id
    if action == "new":
        await query.answer()
        await state.clear()
        await state.update_data(mode="create")
        await show(Step.name, message, state, uid, deps)
        return
    if action == "edit":
        mailing = await mailings.get(deps["uow_factory"], uid, int(callback_data.value))
        mailings.ensure_editable(mailing)
        await query.answer()
        await state.clear()
        await state.update_data(mode="edit", mailing_id=mailing.id)
        await show(step, message, state, uid, deps)
        return
    if await state.get_state() not in step_states(step):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    await handle_step_button(message, state, uid, deps, step, action, callback_data.value)


async def handle_step_button(
    message: Message,
    state: FSMContext,
    uid: int,
    deps: Deps,
    step: Step,
    action: str,
    value: str,
) -> None:
    mailing = await dialog_mailing(state, uid, deps)
    answered = False  # the step got its answer: move on
    if action == "cancel":
        await state.clear()
        key = "dialog-cancelled-draft-kept" if mailing else "dialog-cancelled"
        await message.answer(t(key))
    elif action == "back":
        target = previous(step, mailing)
        if target is None or (await state.get_data()).get("mode") == "edit":
            await state.clear()
            if mailing and mailing.id:
                await send_card(message, uid, deps, mailing.id)
            return
        await show(target, message, state, uid, deps)
    elif mailing is None or mailing.id is None:
        await message.answer(t("error-stale-button"))
    elif step is Step.channel and action == "pick":
        channel = Channel(value)
        if channel not in deps["available_channels"]:
            await message.answer(t("dialog-channel-unavailable", channel=t(f"channel-{value}")))
            return
        await mailings.update(deps["uow_factory"], uid, mailing.id, channel=channel)
        await advance(message, state, uid, deps, Step.channel)
    elif step is Step.lists and action == "toggle":
        await toggle_list(message, state, uid, deps, value)
    elif step is Step.lists and action == "next":
        await advance(message, state, uid, deps, Step.lists)
    elif step is Step.options:
        await handle_option(message, state, uid, deps, mailing.id, mailing.options, action, value)
    elif step is Step.content and action == "templates":
        await offer_templates(message, uid, deps)
    elif step is Step.content and action == "use":
        answered = await use_template(state, uid, deps, value)
    elif step is Step.schedule:
        answered = await on_schedule_button(message, state, uid, deps, mailing, action, value)
    if answered:
        await advance(message, state, uid, deps, step)


async def handle_option(
    message: Message,
    state: FSMContext,
    uid: int,
    deps: Deps,
    mailing_id: int,
    options: dict[str, Any],
    action: str,
    value: str,
) -> None:
    if action == "toggle" and value in {"link_preview", "silent", "protect"}:
        default = value == "link_preview"
        options = {**options, value: not options.get(value, default)}
        await mailings.update(deps["uow_factory"], uid, mailing_id, options=options)
        await message.edit_reply_markup(reply_markup=options_keyboard(options))
    elif action == "buttons":
        await state.set_state(MailingFlow.buttons)
        await message.answer(t("dialog-ask-buttons"), reply_markup=nav_keyboard(Step.options))
    elif action == "next":
        await advance(message, state, uid, deps, Step.options)


# -- typed answers ---------------------------------------------------------------------------
async def got_name(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    data = await state.get_data()
    text = message.text or ""
    if data.get("mailing_id") is None:
        created = await mailings.create_draft(
            deps["uow_factory"], user.telegram_id, text, deps["settings"].timezone
        )
        await state.update_data(mailing_id=created.id)
    else:
        await mailings.update(deps["uow_factory"], user.telegram_id, data["mailing_id"], name=text)
    await advance(message, state, user.telegram_id, deps, Step.name)


async def got_subject(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    mailing_id = (await state.get_data())["mailing_id"]
    await mailings.update(
        deps["uow_factory"], user.telegram_id, mailing_id, subject=message.text or ""
    )
    await advance(message, state, user.telegram_id, deps, Step.subject)


async def got_content(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    """Text keeps its formatting as Telegram HTML; a photo or a document becomes media."""
    mailing_id = (await state.get_data())["mailing_id"]
    media: dict[str, Any] | None = None
    if message.photo:
        media = {"type": "photo", "file_id": message.photo[-1].file_id}
    elif message.document:
        media = {
            "type": "document",
            "file_id": message.document.file_id,
            "filename": message.document.file_name or "file",
        }
    body = (message.html_text if (message.text or message.caption) else "") or ""
    if media is None and not body.strip():
        await message.answer(t("mailings-body-empty"))
        return
    await mailings.update(
        deps["uow_factory"], user.telegram_id, mailing_id, body=body, media=media, template_id=None
    )
    await advance(message, state, user.telegram_id, deps, Step.content)


async def got_buttons(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    rows = parse_buttons(message.text or "")
    mailing_id = (await state.get_data())["mailing_id"]
    mailing = await mailings.get(deps["uow_factory"], user.telegram_id, mailing_id)
    options = {**mailing.options, "buttons": rows}
    await mailings.update(deps["uow_factory"], user.telegram_id, mailing_id, options=options)
    await state.set_state(MailingFlow.options)
    await message.answer(
        t("dialog-buttons-saved", count=sum(len(r) for r in rows)),
        reply_markup=options_keyboard(options),
    )


async def got_schedule_text(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    mailing = await dialog_mailing(state, user.telegram_id, deps)
    if mailing is None:
        await state.clear()
        return
    current = await state.get_state()
    if current == MailingFlow.schedule_at.state:
        if await got_datetime(message, deps, user.telegram_id, mailing):
            await advance(message, state, user.telegram_id, deps, Step.schedule)
    elif current == MailingFlow.schedule_end.state:
        await got_schedule_end(message, state, deps)
    else:
        await got_recurring(message, state, deps, mailing)


def parse_buttons(text: str) -> list[list[dict[str, str]]]:
    """One row per line, buttons in a row split by ``|``, each ``Label - https://link``.

    A single ``-`` removes every button.
    """
    from domain.errors import InvalidInput

    if text.strip() == "-":
        return []
    rows: list[list[dict[str, str]]] = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        row = []
        for part in line.split("|"):
            label, sep, url = part.strip().rpartition(" - ")
            url = url.strip()
            if (
                not sep
                or not label.strip()
                or not url.startswith(("https://", "http://", "tg://"))
            ):
                raise InvalidInput("dialog-buttons-invalid", line=number)
            row.append({"text": label.strip()[:64], "url": url})
        rows.append(row)
    if len(rows) > 8 or any(len(r) > 4 for r in rows):
        raise InvalidInput("dialog-buttons-too-many")
    return rows


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(new_command, Command("new"))
    router.callback_query.register(on_dialog_button, DialogCD.filter())
    router.message.register(got_name, MailingFlow.name, typed)
    router.message.register(got_subject, MailingFlow.subject, typed)
    router.message.register(got_content, MailingFlow.content, typed | F.photo | F.document)
    router.message.register(got_buttons, MailingFlow.buttons, typed)
    router.message.register(got_schedule_text, MailingFlow.schedule_at, typed)
    router.message.register(got_schedule_text, MailingFlow.schedule_cron, typed)
    router.message.register(got_schedule_text, MailingFlow.schedule_end, typed)
    return router
