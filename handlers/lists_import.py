"""Filling lists: a file dropped into the chat, a link, Sendsay, the bot's subscribers,
and re-importing a list from where it came from.

The importer is all-or-nothing, so any error leaves the list as it was; the manager
gets the reason in their language (``ErrorReplyMiddleware``).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.errors import DomainError
from domain.imports import BOT_DOWNLOAD_LIMIT, ImportReport, ImportSource
from domain.recipients import ListSourceKind
from domain.usecases import lists
from domain.users import User
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.lists_kb import (
    ListAct,
    ListCD,
    SendsayPick,
    SheetPick,
    UploadTarget,
    cancel_keyboard,
)
from handlers.lists_text import rejected_labels, rejected_text, report_text
from handlers.progress import ProgressMessage
from handlers.services import Services
from handlers.states import ListsFlow


async def run_import(
    message: Message,
    user: User,
    services: Services,
    list_id: int,
    source: ImportSource,
    kind: ListSourceKind,
    ref: str | None,
) -> None:
    progress = ProgressMessage(
        message,
        "import-progress",
        delay=services.import_progress_delay,
        interval=services.import_progress_interval,
    )
    try:
        report = await lists.import_file(
            services.uow_factory,
            services.importer,
            user.telegram_id,
            list_id,
            replace(source, labels=rejected_labels()),
            source_kind=kind,
            source_ref=ref,
            progress=progress,
        )
    except DomainError as error:
        failed = error.params.get("report")
        if error.key != "import-all-invalid" or not isinstance(failed, ImportReport):
            raise
        # every row was rejected: nothing is stored, but the reasons are worth showing
        params = {k: v for k, v in error.params.items() if k != "report"}
        await message.answer(t(error.key, **params) + "\n\n" + rejected_text(failed))
        await send_rejected(message, failed)
        return
    finally:
        await progress.close()
    await message.answer(report_text(report))
    await send_rejected(message, report)


async def send_rejected(message: Message, report: ImportReport) -> None:
    if report.rejected_file is not None:
        try:
            await message.answer_document(
                FSInputFile(report.rejected_file, filename=t("import-rejected-filename")),
                caption=t("import-rejected-file"),
            )
        finally:
            report.rejected_file.unlink(missing_ok=True)


async def import_telegram_file(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
    bot: Bot,
    list_id: int,
    upload: dict[str, Any],
    sheet: str | None = None,
) -> None:
    if (upload.get("size") or 0) > BOT_DOWNLOAD_LIMIT:
        await message.answer(t("import-too-big-for-bot"))
        return
    with tempfile.TemporaryDirectory(prefix="mailforge-upload-") as tmp:
        path = Path(tmp) / "upload"
        await bot.download(upload["file_id"], destination=path)
        source = ImportSource(path, upload["filename"], sheet)
        if sheet is None:
            names = services.importer.sheet_names(source)
            if len(names) > 1:
                await ask_sheet(message, state, list_id, upload, names)
                return
        await state.clear()
        await run_import(
            message, user, services, list_id, source, ListSourceKind.file, upload["filename"]
        )


async def ask_sheet(
    message: Message, state: FSMContext, list_id: int, upload: dict[str, Any], names: list[str]
) -> None:
    await state.update_data(pending={"list_id": list_id, "upload": upload, "sheets": names})
    kb = InlineKeyboardBuilder()
    for index, name in enumerate(names[:20]):
        kb.button(text=name[:40], callback_data=SheetPick(index=index))
    kb.adjust(2)
    await message.answer(t("import-pick-sheet"), reply_markup=kb.as_markup())


async def import_url(
    message: Message, user: User, services: Services, list_id: int, url: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="mailforge-link-") as tmp:
        await message.answer(t("import-downloading"))
        source = await services.fetcher.fetch(url, Path(tmp))
        await run_import(message, user, services, list_id, source, ListSourceKind.url, url)


async def import_sendsay(
    message: Message, user: User, services: Services, list_id: int, ref: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="mailforge-sendsay-") as tmp:
        await message.answer(t("import-downloading"))
        source = await services.sendsay_source.export(ref, Path(tmp))
        await run_import(message, user, services, list_id, source, ListSourceKind.sendsay, ref)


def _upload(message: Message) -> dict[str, Any] | None:
    document = message.document
    if document is None:
        return None
    name = document.file_name or "upload"
    return {"file_id": document.file_id, "filename": name, "size": document.file_size}


async def on_document(
    message: Message, state: FSMContext, user: User, services: Services, bot: Bot
) -> None:
    upload = _upload(message)
    assert upload is not None
    if (upload.get("size") or 0) > BOT_DOWNLOAD_LIMIT:
        await message.answer(t("import-too-big-for-bot"))  # bots cannot download it at all
        return
    if await state.get_state() == ListsFlow.awaiting_source.state:
        list_id = (await state.get_data())["list_id"]
        await import_telegram_file(message, state, user, services, bot, list_id, upload)
        return
    views = await lists.overview(services.uow_factory, user.telegram_id)
    await state.update_data(upload=upload)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("import-into-new", name=Path(upload["filename"]).stem[:40]),
        callback_data=UploadTarget(list_id=0),
    )
    for v in views[:30]:
        assert v.rlist.id is not None
        kb.button(text=f"📋 {v.rlist.name}", callback_data=UploadTarget(list_id=v.rlist.id))
    kb.adjust(1)
    await message.answer(t("import-where"), reply_markup=kb.as_markup())


async def on_upload_target(
    query: CallbackQuery,
    message: Message,
    callback_data: UploadTarget,
    state: FSMContext,
    user: User,
    services: Services,
    bot: Bot,
) -> None:
    upload = (await state.get_data()).get("upload")
    if upload is None:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    if callback_data.list_id:
        target = callback_data.list_id
        await import_telegram_file(message, state, user, services, bot, target, upload)
        return
    # A new list named after the file; if the import fails, the empty list goes too.
    stem = Path(upload["filename"]).stem
    rlist = await lists.create_unique(services.uow_factory, user.telegram_id, stem)
    assert rlist.id is not None
    try:
        await import_telegram_file(message, state, user, services, bot, rlist.id, upload)
    except BaseException:
        await lists.delete(services.uow_factory, user.telegram_id, rlist.id)
        raise


async def on_sheet_pick(
    query: CallbackQuery,
    message: Message,
    callback_data: SheetPick,
    state: FSMContext,
    user: User,
    services: Services,
    bot: Bot,
) -> None:
    pending = (await state.get_data()).get("pending")
    sheets = pending["sheets"] if pending else []
    if not pending or not 0 <= callback_data.index < len(sheets):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    sheet = sheets[callback_data.index]
    list_id, upload = pending["list_id"], pending["upload"]
    await import_telegram_file(message, state, user, services, bot, list_id, upload, sheet=sheet)


async def on_link(message: Message, state: FSMContext, user: User, services: Services) -> None:
    list_id = (await state.get_data())["list_id"]
    await state.clear()
    await import_url(message, user, services, list_id, (message.text or "").strip())


# -- a list card's source buttons: the caller's rights first, so a refusal is an alert ----
async def on_upload(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    list_id = callback_data.list_id
    await lists.view(services.uow_factory, user.telegram_id, list_id)
    await query.answer()
    await ask_for_source(message, state, list_id, "import-ask-source")


async def on_subscribers(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    user: User,
    services: Services,
) -> None:
    """Adds everyone who pressed /start in the bot."""
    uow_factory, uid, list_id = services.uow_factory, user.telegram_id, callback_data.list_id
    await lists.view(uow_factory, uid, list_id)
    await query.answer()
    added = await lists.import_subscribers(uow_factory, uid, list_id)
    await message.answer(t("import-subscribers-done", added=added))


async def on_sendsay(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    list_id = callback_data.list_id
    await lists.view(services.uow_factory, user.telegram_id, list_id)
    await query.answer()
    await offer_sendsay(message, state, services, list_id)


async def on_reimport(
    query: CallbackQuery,
    message: Message,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    """Fetches the list again from where it came from; a file must be sent again."""
    uow_factory, uid, list_id = services.uow_factory, user.telegram_id, callback_data.list_id
    rlist = (await lists.view(uow_factory, uid, list_id)).rlist
    await query.answer()
    if rlist.source_kind is ListSourceKind.url and rlist.source_ref:
        await import_url(message, user, services, list_id, rlist.source_ref)
    elif rlist.source_kind is ListSourceKind.sendsay and rlist.source_ref:
        await import_sendsay(message, user, services, list_id, rlist.source_ref)
    elif rlist.source_kind is ListSourceKind.subscribers:
        added = await lists.import_subscribers(uow_factory, uid, list_id)
        await message.answer(t("import-subscribers-done", added=added))
    else:
        await ask_for_source(message, state, list_id, "import-reimport-needs-file")


async def ask_for_source(message: Message, state: FSMContext, list_id: int, key: str) -> None:
    await state.set_state(ListsFlow.awaiting_source)
    await state.update_data(list_id=list_id)
    await message.answer(t(key), reply_markup=cancel_keyboard(list_id))


async def offer_sendsay(
    message: Message, state: FSMContext, services: Services, list_id: int
) -> None:
    sendsay = services.sendsay_source
    if not sendsay.available:
        await message.answer(t("sendsay-not-configured"))
        return
    found = await sendsay.lists()
    if not found:
        await message.answer(t("import-sendsay-no-lists"))
        return
    await state.update_data(sendsay_refs=[ref for ref, _ in found[:30]])
    kb = InlineKeyboardBuilder()
    for index, (_, name) in enumerate(found[:30]):
        kb.button(text=name[:40], callback_data=SendsayPick(list_id=list_id, index=index))
    kb.adjust(1)
    await message.answer(t("import-sendsay-pick"), reply_markup=kb.as_markup())


async def on_sendsay_pick(
    query: CallbackQuery,
    message: Message,
    callback_data: SendsayPick,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    refs = (await state.get_data()).get("sendsay_refs") or []
    if not 0 <= callback_data.index < len(refs):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    ref = refs[callback_data.index]
    await import_sendsay(message, user, services, callback_data.list_id, ref)


async def not_a_source(message: Message) -> None:
    await message.answer(t("import-ask-source"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(on_document, F.document)
    router.message.register(
        on_link, ListsFlow.awaiting_source, F.text.regexp(r"^\s*https?://\S+\s*$")
    )
    router.message.register(
        not_a_source, ListsFlow.awaiting_source, F.text & ~F.text.startswith("/")
    )
    button = router.callback_query.register
    button(on_upload, ListCD.filter(F.action == ListAct.upload))
    button(on_subscribers, ListCD.filter(F.action == ListAct.subscribers))
    button(on_sendsay, ListCD.filter(F.action == ListAct.sendsay))
    button(on_reimport, ListCD.filter(F.action == ListAct.reimport))
    button(on_upload_target, UploadTarget.filter())
    button(on_sheet_pick, SheetPick.filter())
    button(on_sendsay_pick, SendsayPick.filter())
    return router
