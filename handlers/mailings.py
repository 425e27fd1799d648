"""/mailings: browse page by page with a status filter, open a card, duplicate, delete,
and launch, test, pause, resume or cancel."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.clock import SystemClock
from domain.errors import InvalidInput
from domain.mailings import MailingStatus
from domain.recipients import AddressKind
from domain.usecases import launch, mailings, schedules
from domain.users import User
from handlers.filters import IsStaff
from handlers.i18n import current_language, t
from handlers.mailing_preview import show_preview
from handlers.mailings_kb import (
    Go,
    MailingCD,
    browse_keyboard,
    card_keyboard,
    confirm_delete_keyboard,
    edit_menu_keyboard,
)
from handlers.mailings_text import browse_text, card_text
from handlers.replies import show_screen
from handlers.run_progress import Watch
from handlers.states import TestFlow

DONE_KEYS = {Go.pause: "run-paused", Go.resume: "run-resumed", Go.cancel: "run-cancelled"}
ENGINE_ACTIONS = {Go.launch, Go.test, Go.pause, Go.resume, Go.cancel}


async def send_browse(
    message: Message,
    user_id: int,
    deps: dict[str, Any],
    page: int = 0,
    status: str = "",
    edit: bool = False,
) -> None:
    found = await mailings.browse(
        deps["uow_factory"], user_id, page, MailingStatus(status) if status else None
    )
    text, markup = browse_text(found, status), browse_keyboard(found, status)
    await show_screen(message, text, markup, edit=edit)


async def send_card(
    message: Message,
    user_id: int,
    deps: dict[str, Any],
    mailing_id: int,
    note_key: str | None = None,
    edit: bool = False,
) -> None:
    info = await mailings.card(deps["uow_factory"], user_id, mailing_id)
    upcoming = None
    if info.mailing.status is MailingStatus.scheduled:
        upcoming = await schedules.next_launch(
            deps["uow_factory"], deps["schedule_calculator"], info.mailing
        )
    text = card_text(info.mailing, info.list_names, info.last_run, deps["tz"], upcoming)
    if note_key:
        text = t(note_key) + "\n\n" + text
    markup = card_keyboard(info.mailing, launched=info.last_run is not None)
    await show_screen(message, text, markup, edit=edit)


async def mailings_command(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    await state.clear()
    await send_browse(message, user.telegram_id, deps)


async def on_card_button(
    query: CallbackQuery, callback_data: MailingCD, state: FSMContext, user: User, **deps: Any
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    go, mailing_id = callback_data.go, callback_data.mailing_id
    if mailing_id:  # check the caller's rights first, so a refusal comes as an alert
        await mailings.get(deps["uow_factory"], user.telegram_id, mailing_id)
    if go in ENGINE_ACTIONS:
        await run_action(query, message, user, {**deps, "state": state}, go, mailing_id)
        return
    await query.answer()
    if go is Go.browse:
        await state.clear()
        await send_browse(
            message, user.telegram_id, deps, callback_data.page, callback_data.status, edit=True
        )
    elif go is Go.open:
        await state.clear()
        await send_card(message, user.telegram_id, deps, mailing_id, edit=True)
    elif go is Go.duplicate:
        copy = await mailings.duplicate(deps["uow_factory"], user.telegram_id, mailing_id)
        assert copy.id is not None
        await send_card(message, user.telegram_id, deps, copy.id, note_key="mailings-duplicated")
    elif go is Go.edit:
        info = await mailings.card(deps["uow_factory"], user.telegram_id, mailing_id)
        mailings.ensure_editable(info.mailing)
        await message.answer(
            t("mailings-edit-what"), reply_markup=edit_menu_keyboard(info.mailing)
        )
    elif go is Go.preview:
        await show_preview(message, user.telegram_id, deps, mailing_id)
    elif go is Go.save:
        await send_card(message, user.telegram_id, deps, mailing_id, note_key="mailings-saved")
    elif go is Go.schedule:
        await schedules.schedule(
            deps["uow_factory"],
            deps["schedule_calculator"],
            actor_id=user.telegram_id,
            mailing_id=mailing_id,
            now=SystemClock().now(),
        )
        await send_card(message, user.telegram_id, deps, mailing_id, note_key="mailings-scheduled")
    elif go is Go.unschedule:
        await schedules.unschedule(
            deps["uow_factory"], actor_id=user.telegram_id, mailing_id=mailing_id
        )
        await send_card(
            message, user.telegram_id, deps, mailing_id, note_key="mailings-unscheduled"
        )
    elif go is Go.delete:
        info = await mailings.card(deps["uow_factory"], user.telegram_id, mailing_id)
        await message.edit_text(
            t("mailings-confirm-delete", name=info.mailing.name),
            reply_markup=confirm_delete_keyboard(mailing_id),
        )
    elif go is Go.delete_yes:
        archived = await mailings.delete(deps["uow_factory"], user.telegram_id, mailing_id)
        await message.edit_text(t("mailings-archived" if archived else "mailings-deleted"))
        await send_browse(message, user.telegram_id, deps)


async def run_action(
    query: CallbackQuery,
    message: Message,
    user: User,
    deps: dict[str, Any],
    go: Go,
    mailing_id: int,
) -> None:
    """Launch, test, pause, resume or cancel; a launch or a test gets a live progress message."""
    uow_factory, uid = deps["uow_factory"], user.telegram_id
    if go in (Go.launch, Go.test):
        if go is Go.launch:
            run = await launch.launch(
                uow_factory,
                deps["delivery_queue"],
                deps["renderer"],
                actor_id=uid,
                mailing_id=mailing_id,
                available=deps["available_channels"],
            )
        else:
            try:
                run = await launch.send_test(
                    uow_factory, deps["delivery_queue"], actor_id=uid, mailing_id=mailing_id
                )
            except InvalidInput as exc:
                if exc.key != "launch-test-needs-email":
                    raise
                await query.answer()
                await deps["state"].set_state(TestFlow.email)
                await deps["state"].update_data(test_mailing_id=mailing_id)
                await message.answer(t("launch-ask-test-email"))
                return
        await query.answer(t("run-started" if go is Go.launch else "run-test-started"))
        await follow_run(message, deps, mailing_id, run)
        return
    if go is Go.cancel:
        await launch.cancel(uow_factory, actor_id=uid, mailing_id=mailing_id)
    else:
        await launch.set_paused(
            uow_factory, actor_id=uid, mailing_id=mailing_id, paused=go is Go.pause
        )
    await query.answer(t(DONE_KEYS[go]))
    await send_card(message, uid, deps, mailing_id)


async def follow_run(message: Message, deps: dict[str, Any], mailing_id: int, run: Any) -> None:
    """One progress message, edited by the watcher until the summary."""
    sent = await message.answer(t("run-starting"))
    assert run.id is not None
    deps["run_watcher"].watch(
        Watch(run.id, mailing_id, sent.chat.id, sent.message_id, current_language())
    )


async def got_test_email(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    mailing_id = (await state.get_data()).get("test_mailing_id")
    kind, value = deps["address_parser"].parse(message.text or "")
    if kind is not AddressKind.email or mailing_id is None:
        await message.answer(t("launch-ask-test-email"))
        return
    await state.clear()
    run = await launch.send_test(
        deps["uow_factory"],
        deps["delivery_queue"],
        actor_id=user.telegram_id,
        mailing_id=mailing_id,
        email=value,
    )
    await message.answer(t("run-test-started-to", address=value))
    await follow_run(message, deps, mailing_id, run)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    router.message.register(mailings_command, Command("mailings"))
    router.callback_query.register(on_card_button, MailingCD.filter())
    router.message.register(got_test_email, TestFlow.email, F.text & ~F.text.startswith("/"))
    return router
