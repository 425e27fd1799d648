"""Filling lists: a file dropped into the chat, a link, Sendsay, the bot's subscribers,
and re-importing a list from where it came from.

The importer is all-or-nothing, so any error leaves the list as it was; the manager
gets the reason in their language (``ErrorReplyMiddleware``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.errors import DomainError
from domain.imports import BOT_DOWNLOAD_LIMIT, ImportReport, ImportSource
from domain.ports import (
    ExternalListSource,
    RecipientImporter,
    RemoteFileFetcher,
    UnitOfWorkFactory,
)
from domain.recipients import ListSourceKind
from domain.usecases import lists
from domain.users import User
from handlers.filters import IsStaff
from handlers.i18n import t
from handlers.lists_kb import Act, ListCD, SendsayPick, SheetPick, UploadTarget, cancel_keyboard
from handlers.lists_text import rejected_text, report_text
from handlers.progress import ProgressMessage
from handlers.states import ListsFlow

Deps = dict[str, Any]


async def run_import(
    message: Message,
    user: User,
    deps: Deps,
    list_id: int,
    source: ImportSource,
    kind: ListSourceKind,
    ref: str | None,
) -> None:
    progress = ProgressMessage(
        message,
        "import-progress",
        delay=deps.get("progress_delay", 2.0),
        interval=deps.get("progress_interval", 3.0),
    )
    try:
        report = await lists.import_file(
            deps["uow_factory"],
            deps["importer"],
            user.telegram_id,
            list_id,
            source,
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
                FSInputFile(report.rejected_file, filename="rejected.csv"),
                caption=t("import-rejected-file"),
            )
        finally:
            report.rejected_file.unlink(missing_ok=True)


async def import_telegram_file(
    message: Message,
    state: FSMContext,
    user: User,
    deps: Deps,
    list_id: int,
    upload: dict[str, Any],
    sheet: str | None = None,
) -> None:
    if (upload.get("size") or 0) > BOT_DOWNLOAD_LIMIT:
        await message.answer(t("import-too-big-for-bot"))
        return
    bot: Bot = deps["bot"]
    importer: RecipientImporter = deps["importer"]
    with tempfile.TemporaryDirectory(prefix="mailforge-upload-") as tmp:
        path = Path(tmp) / "upload"
        await bot.download(upload["file_id"], destination=path)
        source = ImportSource(path, upload["filename"], sheet)
        if sheet is None:
            names = importer.sheet_names(source)
            if len(names) > 1:
                await ask_sheet(message, state, list_id, upload, names)
                return
        await state.clear()
        await run_import(
            message, user, deps, list_id, source, ListSourceKind.file, upload["filename"]
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


async def import_url(message: Message, user: User, deps: Deps, list_id: int, url: str) -> None:
    fetcher: RemoteFileFetcher = deps["fetcher"]
    with tempfile.TemporaryDirectory(prefix="mailforge-link-") as tmp:
        await message.answer(t("import-downloading"))
        source = await fetcher.fetch(url, Path(tmp))
        await run_import(message, user, deps, list_id, source, ListSourceKind.url, url)


async def import_sendsay(message: Message, user: User, deps: Deps, list_id: int, ref: str) -> None:
    sendsay: ExternalListSource = deps["sendsay_source"]
    with tempfile.TemporaryDirectory(prefix="mailforge-sendsay-") as tmp:
        await message.answer(t("import-downloading"))
        source = await sendsay.export(ref, Path(tmp))
        await run_import(message, user, deps, list_id, source, ListSourceKind.sendsay, ref)


def _upload(message: Message) -> dict[str, Any] | None:
    document = message.document
    if document is None:
        return None
    name = document.file_name or "upload"
    return {"file_id": document.file_id, "filename": name, "size": document.file_size}


async def on_document(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    upload = _upload(message)
    assert upload is not None
    if (upload.get("size") or 0) > BOT_DOWNLOAD_LIMIT:
        await message.answer(t("import-too-big-for-bot"))  # bots cannot download it at all
        return
    if await state.get_state() == ListsFlow.awaiting_source.state:
        list_id = (await state.get_data())["list_id"]
        await import_telegram_file(message, state, user, deps, list_id, upload)
        return
    views = await lists.overview(deps["uow_factory"], user.telegram_id)
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
    callback_data: UploadTarget,
    state: FSMContext,
    user: User,
    **deps: Any,
) -> None:
    upload = (await state.get_data()).get("upload")
    if upload is None or not isinstance(query.message, Message):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    if callback_data.list_id:
        await import_telegram_file(query.message, state, user, deps, callback_data.list_id, upload)
        return
    # A new list named after the file; if the import fails, the empty list goes too.
    stem = Path(upload["filename"]).stem
    rlist = await lists.create_unique(deps["uow_factory"], user.telegram_id, stem)
    assert rlist.id is not None
    try:
        await import_telegram_file(query.message, state, user, deps, rlist.id, upload)
    except BaseException:
        await lists.delete(deps["uow_factory"], user.telegram_id, rlist.id)
        raise


async def on_sheet_pick(
    query: CallbackQuery,
    callback_data: SheetPick,
    state: FSMContext,
    user: User,
    **deps: Any,
) -> None:
    pending = (await state.get_data()).get("pending")
    sheets = pending["sheets"] if pending else []
    if (
        not pending
        or not 0 <= callback_data.index < len(sheets)
        or not isinstance(query.message, Message)
    ):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    await import_telegram_file(
        query.message,
        state,
        user,
        deps,
        pending["list_id"],
        pending["upload"],
        sheet=sheets[callback_data.index],
    )


async def on_link(message: Message, state: FSMContext, user: User, **deps: Any) -> None:
    list_id = (await state.get_data())["list_id"]
    await state.clear()
    await import_url(message, user, deps, list_id, (message.text or "").strip())


async def on_source_button(
    query: CallbackQuery,
    callback_data: ListCD,
    state: FSMContext,
    user: User,
    **deps: Any,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    list_id, act = callback_data.list_id, callback_data.act
    uow_factory: UnitOfWorkFactory = deps["uow_factory"]
    view = await lists.view(uow_factory, user.telegram_id, list_id)
    await query.answer()
    if act is Act.upload:
        await state.set_state(ListsFlow.awaiting_source)
        await state.update_data(list_id=list_id)
        await message.answer(t("import-ask-source"), reply_markup=cancel_keyboard(list_id))
    elif act is Act.subscribers:
        added = await lists.import_subscribers(uow_factory, user.telegram_id, list_id)
        await message.answer(t("import-subscribers-done", added=added))
    elif act is Act.sendsay:
        await offer_sendsay(message, state, deps, list_id)
    elif act is Act.reimport:
        rlist = view.rlist
        if rlist.source_kind is ListSourceKind.url and rlist.source_ref:
            await import_url(message, user, deps, list_id, rlist.source_ref)
        elif rlist.source_kind is ListSourceKind.sendsay and rlist.source_ref:
            await import_sendsay(message, user, deps, list_id, rlist.source_ref)
        elif rlist.source_kind is ListSourceKind.subscribers:
            added = await lists.import_subscribers(uow_factory, user.telegram_id, list_id)
            await message.answer(t("import-subscribers-done", added=added))
        else:
            await state.set_state(ListsFlow.awaiting_source)
            await state.update_data(list_id=list_id)
            await message.answer(
                t("import-reimport-needs-file"), reply_markup=cancel_keyboard(list_id)
            )


async def offer_sendsay(message: Message, state: FSMContext, deps: Deps, list_id: int) -> None:
    sendsay: ExternalListSource = deps["sendsay_source"]
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
    callback_data: SendsayPick,
    state: FSMContext,
    user: User,
    **deps: Any,
) -> None:
    refs = (await state.get_data()).get("sendsay_refs") or []
    if not 0 <= callback_data.index < len(refs) or not isinstance(query.message, Message):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    await query.answer()
    await import_sendsay(
        query.message, user, deps, callback_data.list_id, refs[callback_data.index]
    )


async def not_a_source(message: Message) -> None:
    await message.answer(t("import-ask-source"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff)
    router.message.register(on_document, F.document)
    router.message.register(
        on_link, ListsFlow.awaiting_source, F.text.regexp(r"^\s*https?://\S+\s*$")
    )
    router.message.register(
        not_a_source, ListsFlow.awaiting_source, F.text & ~F.text.startswith("/")
    )
    source_acts = {Act.upload, Act.subscribers, Act.sendsay, Act.reimport}
    router.callback_query.register(on_source_button, ListCD.filter(F.act.in_(source_acts)))
    router.callback_query.register(on_upload_target, UploadTarget.filter())
    router.callback_query.register(on_sheet_pick, SheetPick.filter())
    router.callback_query.register(on_sendsay_pick, SendsayPick.filter())
    return router
