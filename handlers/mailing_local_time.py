"""Local time in the segment screen: "at 10:00 in each recipient's zone" — the time, the
field that holds the zone, the default zone and quiet hours, each typed and checked at
its step (``domain.local_time``)."""

from __future__ import annotations

from datetime import time

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from domain.local_time import LocalTime, parse_clock, parse_quiet, parse_zone
from domain.usecases import local_time, segments
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailing_segment import Handler, OnSegment, answered, screen
from handlers.mailing_segment_kb import (
    SegAct,
    SegmentCD,
    local_ask_keyboard,
    zone_fields_keyboard,
)
from handlers.services import Services
from handlers.states import MailingFlow


async def on_local(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    await state.set_state(MailingFlow.local_at)
    await message.answer(t("local-ask-at"), reply_markup=local_ask_keyboard())


async def on_local_off(
    query: CallbackQuery, message: Message, state: FSMContext, user: User, services: Services
) -> None:
    uid, mailing_id = user.telegram_id, (await state.get_data())["mailing_id"]
    mailing = await local_time.set_local_time(services.uow_factory, uid, mailing_id, None)
    await state.set_state(MailingFlow.segment)
    await screen(message, uid, services, mailing)


async def got_at(message: Message, state: FSMContext, user: User, services: Services) -> None:
    text = (message.text or "").strip()
    at = None if text == "-" else parse_clock(text)
    await state.update_data(local_at=at.strftime("%H:%M") if at else None)
    mailing_id = (await state.get_data())["mailing_id"]
    found = await segments.fields(services.uow_factory, user.telegram_id, mailing_id)
    await state.update_data(seg_fields=found)
    await message.answer(t("local-ask-field"), reply_markup=zone_fields_keyboard(found))


async def on_zone(
    query: CallbackQuery,
    message: Message,
    callback_data: SegmentCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    field = None
    if callback_data.action is SegAct.zone:
        found = [f for f in (await state.get_data()).get("seg_fields") or [] if f != "tags"]
        index = int(callback_data.value) if callback_data.value.isdigit() else -1
        if not 0 <= index < len(found):
            await message.answer(t("error-stale-button"))
            return
        field = found[index]
    await state.update_data(local_field=field)
    await state.set_state(MailingFlow.local_zone)
    await message.answer(t("local-ask-zone", zone=services.timezone))


async def got_zone(message: Message, state: FSMContext, user: User, services: Services) -> None:
    await state.update_data(local_zone=parse_zone(message.text or ""))
    await state.set_state(MailingFlow.local_quiet)
    await message.answer(t("local-ask-quiet"))


async def got_quiet(message: Message, state: FSMContext, user: User, services: Services) -> None:
    quiet = parse_quiet(message.text or "")
    data = await state.get_data()
    at = data.get("local_at")
    local = LocalTime(
        default_zone=data["local_zone"],
        at=time.fromisoformat(at) if at else None,
        field=data.get("local_field"),
        quiet=quiet,
    )
    uid = user.telegram_id
    mailing = await local_time.set_local_time(services.uow_factory, uid, data["mailing_id"], local)
    await state.set_state(MailingFlow.segment)
    await screen(message, uid, services, mailing)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    typed = F.text & ~F.text.startswith("/")
    router.message.register(got_at, MailingFlow.local_at, typed)
    router.message.register(got_zone, MailingFlow.local_zone, typed)
    router.message.register(got_quiet, MailingFlow.local_quiet, typed)
    handlers: dict[SegAct, Handler] = {
        SegAct.local: on_local,
        SegAct.local_off: on_local_off,
        SegAct.zone: on_zone,
        SegAct.zone_none: on_zone,
    }
    for action, handler in handlers.items():
        press = SegmentCD.filter(F.action == action)
        router.callback_query.register(answered(handler), press, OnSegment())
    return router
