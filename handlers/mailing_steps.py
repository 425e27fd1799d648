"""The create/edit dialog: name → channel → subject → content → options → lists →
schedule → preview. Every answer is validated at its step and stored at once.

One handler per button (``DialogCD`` step and action); a button of another step than the
one the dialog is at is outdated (``AtStep``). The schedule step lives in
``mailing_schedule``."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.buttons import parse_buttons
from domain.errors import InvalidInput
from domain.follow_ups import AUTODELETE, PIN, next_autodelete
from domain.mailings import Channel, Mailing
from domain.media import EXACT_COPY, is_copy, remember_post, toggle_exact_copy
from domain.usecases import mailings
from domain.usecases import preview as previews
from domain.users import User
from handlers import mailing_schedule
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_content import Albums, captions_dropped, content_of
from handlers.mailing_flow import (
    STATES,
    AtStep,
    advance,
    current_draft,
    dialog_mailing,
    fast_rate,
    options_keyboard,
    press,
    previous,
    show,
    step_states,
)
from handlers.mailing_lists import toggle_list
from handlers.mailing_templates import offer_templates, use_template
from handlers.mailings import send_card
from handlers.mailings_kb import DialogAct, DialogCD, Step, nav_keyboard
from handlers.services import Services
from handlers.states import MailingFlow

# Steps answered by pressing a button (their typed sub-steps have handlers of their own).
BUTTON_STEPS = (
    MailingFlow.channel,
    MailingFlow.options,
    MailingFlow.tracking,
    MailingFlow.lists,
    MailingFlow.schedule,
)
OPTIONS = {"link_preview": True, "silent": False, "protect": False, PIN: False}  # defaults
CHANNELS = {channel.value: channel for channel in Channel}


# -- entry points -------------------------------------------------------------------------
async def new_command(message: Message, state: FSMContext, user: User, services: Services) -> None:
    await state.clear()
    await state.update_data(mode="create")
    await show(Step.name, message, state, user.telegram_id, services)


async def on_new(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await query.answer()
    await new_command(message, state, user, services)


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """A card's "edit this field": that one step, then back to the card."""
    if not callback_data.value.isdigit():
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    uid = user.telegram_id
    mailing = await mailings.get(services.uow_factory, uid, int(callback_data.value))
    mailings.ensure_editable(mailing)
    await query.answer()
    await state.clear()
    await state.update_data(mode="edit", mailing_id=mailing.id)
    await show(callback_data.step, message, state, uid, services)


# -- every step's navigation ------------------------------------------------------------------
async def on_cancel(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    """Leaves the dialog; the draft stays."""
    await query.answer()
    mailing = await dialog_mailing(state, user.telegram_id, services)
    await state.clear()
    await message.answer(t("dialog-cancelled-draft-kept" if mailing else "dialog-cancelled"))


async def on_back(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """One step back; from the first step (or in edit mode) back to the card."""
    await query.answer()
    uid = user.telegram_id
    mailing = await dialog_mailing(state, uid, services)
    target = previous(callback_data.step, mailing)
    if target is None or (await state.get_data()).get("mode") == "edit":
        await state.clear()
        if mailing and mailing.id:
            await send_card(message, uid, services, mailing.id)
        return
    await show(target, message, state, uid, services)


# -- step buttons -----------------------------------------------------------------------------
async def on_channel(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    draft = await current_draft(query, message, state, user, services)
    channel = CHANNELS.get(callback_data.value)
    if draft is None or channel is None:
        return
    if channel not in services.available_channels:
        await message.answer(t("dialog-channel-unavailable", channel=t(f"channel-{channel}")))
        return
    await mailings.update(services.uow_factory, user.telegram_id, draft.id, channel=channel)
    await advance(message, state, user.telegram_id, services, Step.channel)


async def on_templates(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        await offer_templates(message, user.telegram_id, services)


async def on_use_template(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    uid = user.telegram_id
    if not await current_draft(query, message, state, user, services):
        return
    if await use_template(state, uid, services, callback_data.value):
        await advance(message, state, uid, services, Step.content)


async def on_option_toggle(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    draft = await current_draft(query, message, state, user, services)
    name = callback_data.value
    if draft is None or name not in (*OPTIONS, AUTODELETE, EXACT_COPY):
        return
    if name == EXACT_COPY:
        await toggle_copy(message, user, services, draft.mailing)
        return
    if name == AUTODELETE:  # off, 1, 3, 6, 12, 24, 47 hours, then off again
        options = {**draft.mailing.options, name: next_autodelete(draft.mailing.options)}
    else:
        current = draft.mailing.options.get(name, OPTIONS[name])
        options = {**draft.mailing.options, name: not current}
    mailing = await mailings.update(
        services.uow_factory, user.telegram_id, draft.id, options=options
    )
    await message.edit_reply_markup(reply_markup=options_keyboard(mailing, fast_rate(services)))


async def toggle_copy(message: Message, user: User, services: Services, mailing: Mailing) -> None:
    """ "Send exactly this": the remembered post copied as it is (placeholders not filled:
    the dialog says so), or back to the message built from it."""
    assert mailing.id is not None
    media = toggle_exact_copy(mailing.media, mailing.options)
    mailing = await mailings.update(
        services.uow_factory, user.telegram_id, mailing.id, media=media
    )
    await message.answer(t("dialog-exact-copy-on" if is_copy(media) else "dialog-exact-copy-off"))
    await message.edit_reply_markup(reply_markup=options_keyboard(mailing, fast_rate(services)))


async def on_fast_toggle(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Fast (paid broadcasts at TELEGRAM_RATE) or free; offered only above the free 30/s."""
    draft = await current_draft(query, message, state, user, services)
    fast = fast_rate(services)
    if draft is None or fast is None:
        return
    mailing = await mailings.update(
        services.uow_factory, user.telegram_id, draft.id, fast=not draft.mailing.fast
    )
    await message.edit_reply_markup(reply_markup=options_keyboard(mailing, fast))


async def on_option_buttons(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    if await current_draft(query, message, state, user, services):
        await state.set_state(MailingFlow.buttons)
        await message.answer(t("dialog-ask-buttons"), reply_markup=nav_keyboard(Step.options))


async def on_list_toggle(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    if await current_draft(query, message, state, user, services):
        await toggle_list(message, state, user.telegram_id, services, callback_data.value)


async def on_next(
    query: CallbackQuery,
    message: Message,
    callback_data: DialogCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """The "Next" button of the options and of the lists: the step stands answered."""
    if await current_draft(query, message, state, user, services):
        await advance(message, state, user.telegram_id, services, callback_data.step)


# -- typed answers ---------------------------------------------------------------------------
async def got_name(message: Message, state: FSMContext, user: User, services: Services) -> None:
    data = await state.get_data()
    text = message.text or ""
    if data.get("mailing_id") is None:
        created = await mailings.create_draft(
            services.uow_factory, user.telegram_id, text, services.timezone
        )
        await state.update_data(mailing_id=created.id)
    else:
        await mailings.update(
            services.uow_factory, user.telegram_id, data["mailing_id"], name=text
        )
    await advance(message, state, user.telegram_id, services, Step.name)


async def got_subject(message: Message, state: FSMContext, user: User, services: Services) -> None:
    mailing_id = (await state.get_data())["mailing_id"]
    await mailings.update(
        services.uow_factory, user.telegram_id, mailing_id, subject=message.text or ""
    )
    await advance(message, state, user.telegram_id, services, Step.subject)


async def got_content(
    message: Message, state: FSMContext, user: User, services: Services, albums: Albums
) -> None:
    """Text keeps its formatting as Telegram HTML; a media message (any kind) or an album
    becomes media, its caption the text."""
    messages = await albums.gather(message, services.album_quiet)
    if messages is None:
        return  # an item of an album its first item answers for
    mailing_id = (await state.get_data())["mailing_id"]
    try:
        body, media = content_of(messages)
    except InvalidInput as exc:
        await message.answer(f"⛔️ {t(exc.key, **exc.params)}\n\n{t('dialog-content-refused')}")
        return
    if media is None and not body.strip():
        await message.answer(t("mailings-body-empty"))
        return
    uow_factory, uid, renderer = services.uow_factory, user.telegram_id, services.renderer
    problem = await previews.check_content(uow_factory, renderer, uid, mailing_id, body, media)
    if problem is not None:  # refused here with the preview's words, not at the launch
        text = t(problem.key, **problem.params)
        await message.answer(f"⛔️ {text}\n\n{t('dialog-content-refused')}")
        return
    current = await mailings.get(uow_factory, uid, mailing_id)
    ids = [m.message_id for m in messages]
    options = remember_post(current.options, message.chat.id, ids, media)
    await mailings.update(
        uow_factory, uid, mailing_id, body=body, media=media, options=options, template_id=None
    )
    dropped = captions_dropped(messages)
    if dropped:  # Telegram shows an album's caption under its first item only
        await message.answer(t("media-album-one-caption", count=dropped))
    await advance(message, state, user.telegram_id, services, Step.content)


async def got_buttons(message: Message, state: FSMContext, user: User, services: Services) -> None:
    rows = parse_buttons(message.text or "")
    mailing_id = (await state.get_data())["mailing_id"]
    mailing = await mailings.get(services.uow_factory, user.telegram_id, mailing_id)
    options = {**mailing.options, "buttons": rows}
    mailing = await mailings.update(
        services.uow_factory, user.telegram_id, mailing_id, options=options
    )
    await state.set_state(MailingFlow.options)
    await message.answer(
        t("dialog-buttons-saved", count=sum(len(r) for r in rows)),
        reply_markup=options_keyboard(mailing, fast_rate(services)),
    )


async def wants_a_button(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    """Text at a step that is answered by a button: say so and ask that step again."""
    await message.answer(t("dialog-use-buttons"))
    raw = await state.get_state()
    step = next((s for s in STATES if raw in step_states(s)), Step.name)
    await show(step, message, state, user.telegram_id, services)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(new_command, Command("new"))
    router.message.register(got_name, MailingFlow.name, typed)
    router.message.register(got_subject, MailingFlow.subject, typed)
    albums = Albums()

    async def content(message: Message, state: FSMContext, user: User, services: Services) -> None:
        await got_content(message, state, user, services, albums)

    media = F.photo | F.video | F.animation | F.audio | F.voice | F.video_note | F.sticker
    router.message.register(content, MailingFlow.content, typed | media | F.document)
    router.message.register(got_buttons, MailingFlow.buttons, typed)
    router.message.register(wants_a_button, StateFilter(*BUTTON_STEPS), typed)
    button = router.callback_query.register
    button(on_new, DialogCD.filter(F.action == DialogAct.new))
    button(on_edit, DialogCD.filter(F.action == DialogAct.edit))
    button(on_cancel, DialogCD.filter(F.action == DialogAct.cancel), AtStep())
    button(on_back, DialogCD.filter(F.action == DialogAct.back), AtStep())
    button(on_channel, *press(Step.channel, DialogAct.pick))
    button(on_templates, *press(Step.content, DialogAct.templates))
    button(on_use_template, *press(Step.content, DialogAct.use))
    button(on_option_toggle, *press(Step.options, DialogAct.toggle))
    button(on_option_buttons, *press(Step.options, DialogAct.buttons))
    button(on_fast_toggle, *press(Step.options, DialogAct.fast))
    button(on_list_toggle, *press(Step.lists, DialogAct.toggle))
    button(on_next, *press(Step.options, DialogAct.next))
    button(on_next, *press(Step.lists, DialogAct.next))
    router.include_router(mailing_schedule.create_router())
    return router
