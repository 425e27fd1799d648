"""Filling lists: a file dropped into the chat, a link, Sendsay, the bot's subscribers,
and re-importing a list from where it came from.

The importer is all-or-nothing, so any error leaves the list as it was; the manager
gets the reason in their language (``ErrorReplyMiddleware``).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, FSInputFile, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.errors import DomainError
from domain.imports import (
    BOT_DOWNLOAD_LIMIT,
    REJECTED_DELIMITER,
    ImportReport,
    ImportSource,
    ProgressCallback,
)
from domain.recipients import ListSourceKind, RecipientList
from domain.usecases import lists
from domain.usecases import reimport as reimports
from domain.users import User
from handlers.errors import error_text
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.lists_kb import (
    LinkTarget,
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
from handlers.uploads import cut_csv, fit_for_upload

LINK = r"(?i)^\s*https?://\S+\s*$"  # a message that is one link and nothing else


class Target(NamedTuple):
    """Where an import goes: a list, or (``list_id`` None) a new list called ``name``, made
    only once there is something to put in it. ``sync``: "Update from source" (the list's
    own source again), which offers to remove the members the source no longer holds."""

    list_id: int | None
    name: str = ""
    sync: bool = False


def _target(data: dict[str, Any]) -> Target:
    list_id = data.get("list_id") or None
    return Target(list_id, data.get("new_name") or "", bool(data.get("sync")) and bool(list_id))


async def run_import(
    message: Message,
    user: User,
    services: Services,
    target: Target,
    source: ImportSource,
    kind: ListSourceKind,
    ref: str | None,
) -> bool:
    """Imports and reports; ``False`` when nothing was imported (every row rejected, or a
    new list that stayed empty and is gone)."""
    args = (services.uow_factory, services.importer, user.telegram_id)
    source = replace(source, labels=rejected_labels(), sync=target.sync)

    async def importing(progress: ProgressCallback) -> tuple[RecipientList | None, ImportReport]:
        options: dict[str, Any] = {"source_kind": kind, "source_ref": ref, "progress": progress}
        if target.list_id is None:
            return await lists.import_into_new_list(*args, target.name, source, **options)
        return None, await lists.import_file(*args, target.list_id, source, **options)

    return await show_import(message, services, target, importing)


Importing = Callable[[ProgressCallback], Awaitable[tuple[RecipientList | None, ImportReport]]]


async def show_import(
    message: Message, services: Services, target: Target, importing: Importing
) -> bool:
    """``importing`` with a progress message, then its report (the rejected rows' file,
    the offer to remove who left the source); ``False`` when nothing was imported."""
    progress = ProgressMessage(
        message,
        "import-progress",
        delay=services.import_progress_delay,
        interval=services.import_progress_interval,
    )
    try:
        created, report = await importing(progress)
    except DomainError as error:
        failed = error.params.get("report")
        if error.key != "import-all-invalid" or not isinstance(failed, ImportReport):
            raise
        # every row was rejected: nothing is stored, but the reasons are worth showing
        params = {k: v for k, v in error.params.items() if k != "report"}
        await message.answer(t(error.key, **params) + "\n\n" + rejected_text(failed))
        await send_rejected(message, failed)
        return False
    finally:
        await progress.close()
    empty = target.list_id is None and created is None
    text = report_text(report)
    await message.answer(t("import-new-list-empty") + "\n\n" + text if empty else text)
    await send_rejected(message, report)
    if target.sync and target.list_id is not None and report.gone:
        await offer_remove_gone(message, target.list_id, report.gone)
    return not empty


async def offer_remove_gone(message: Message, list_id: int, count: int) -> None:
    """The members the source no longer holds, and one press to remove them too."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("import-gone-remove", count=count),
        callback_data=ListCD(action=ListAct.remove_gone, list_id=list_id),
    )
    keep = ListCD(action=ListAct.open, list_id=list_id)
    kb.button(text=t("import-gone-keep"), callback_data=keep)
    kb.adjust(1)
    await message.answer(t("import-gone-offer", count=count), reply_markup=kb.as_markup())


async def import_then_close(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
    target: Target,
    source: ImportSource,
    kind: ListSourceKind,
    ref: str | None,
) -> None:
    """After a failed file or link the step stays open for the next try."""
    try:
        done = await run_import(message, user, services, target, source, kind, ref)
    except DomainError as error:
        await keep_open(message, state, target, error_text(error))
        return
    if done:
        await state.clear()
    else:
        await keep_open(message, state, target)


async def keep_open(
    message: Message, state: FSMContext, target: Target, error: str | None = None
) -> None:
    await state.set_state(ListsFlow.awaiting_source)
    await state.update_data(list_id=target.list_id, new_name=target.name, sync=target.sync)
    text = t("import-try-again")
    await message.answer(
        f"{error}\n\n{text}" if error else text, reply_markup=cancel_keyboard(target.list_id or 0)
    )


async def send_rejected(message: Message, report: ImportReport) -> None:
    """The rejected rows' CSV, zipped past the Bot API's 50 MB, cut to its first rows
    (and said so) if even that is too big."""
    path = report.rejected_file
    if path is None:
        return
    sent: set[Path] = {path}
    try:
        name, caption = t("import-rejected-filename"), t("import-rejected-file")
        sendable = await asyncio.to_thread(fit_for_upload, path)
        if sendable is None:
            cut = await asyncio.to_thread(cut_csv, path, REJECTED_DELIMITER)
            sendable = cut.path
            caption += "\n" + t("import-rejected-cut", kept=cut.kept, total=cut.total)
        elif sendable != path:
            name += ".zip"
        sent.add(sendable)
        await message.answer_document(FSInputFile(sendable, filename=name), caption=caption)
    finally:
        for file in sent:
            file.unlink(missing_ok=True)


async def import_telegram_file(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
    bot: Bot,
    target: Target,
    upload: dict[str, Any],
    sheet: str | None = None,
) -> None:
    if (upload.get("size") or 0) > BOT_DOWNLOAD_LIMIT:
        await keep_open(message, state, target, t("import-too-big-for-bot"))
        return
    with tempfile.TemporaryDirectory(prefix="mailforge-upload-") as tmp:
        path = Path(tmp) / "upload"
        await bot.download(upload["file_id"], destination=path)
        source = ImportSource(path, upload["filename"], sheet)
        if sheet is None:
            try:
                names = await services.importer.sheet_names(source)
            except DomainError as error:
                await keep_open(message, state, target, error_text(error))
                return
            if len(names) > 1:
                await ask_sheet(message, state, target, upload, names)
                return
        kind, ref = ListSourceKind.file, upload["filename"]
        await import_then_close(message, state, user, services, target, source, kind, ref)


async def ask_sheet(
    message: Message,
    state: FSMContext,
    target: Target,
    upload: dict[str, Any],
    names: list[str],
) -> None:
    """No list is made yet: a new one comes once the sheet is chosen (and has rows)."""
    pending = {
        "list_id": target.list_id,
        "new_name": target.name,
        "sync": target.sync,
        "upload": upload,
    }
    await state.update_data(pending={**pending, "sheets": names})
    kb = InlineKeyboardBuilder()
    for index, name in enumerate(names[:20]):
        kb.button(text=name[:40], callback_data=SheetPick(index=index))
    kb.adjust(2)
    await message.answer(t("import-pick-sheet"), reply_markup=kb.as_markup())


async def import_url(
    message: Message,
    state: FSMContext,
    user: User,
    services: Services,
    target: Target,
    url: str,
) -> None:
    with tempfile.TemporaryDirectory(prefix="mailforge-link-") as tmp:
        await message.answer(t("import-downloading"))
        try:
            source = await services.fetcher.fetch(url, Path(tmp))
        except DomainError as error:
            await keep_open(message, state, target, error_text(error))
            return
        kind = ListSourceKind.url
        await import_then_close(message, state, user, services, target, source, kind, url)


async def import_sendsay(
    message: Message, user: User, services: Services, target: Target, ref: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="mailforge-sendsay-") as tmp:
        await message.answer(t("import-downloading"))
        source = await services.sendsay_source.export(ref, Path(tmp))
        kind = ListSourceKind.sendsay
        await run_import(message, user, services, target, source, kind, ref)


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
        target = _target(await state.get_data())
        await import_telegram_file(message, state, user, services, bot, target, upload)
        return
    await state.update_data(upload=upload)
    name = Path(upload["filename"]).stem
    await offer_targets(message, user, services, "import-where", name, UploadTarget)


async def offer_targets(
    message: Message,
    user: User,
    services: Services,
    question: str,
    name: str,
    button: type[UploadTarget] | type[LinkTarget],
) -> None:
    """Which list a file or a link dropped into the chat goes to: a new one, or one of
    the lists."""
    views = await lists.overview(services.uow_factory, user.telegram_id)
    kb = InlineKeyboardBuilder()
    kb.button(text=t("import-into-new", name=name[:40]), callback_data=button(list_id=0))
    for v in views[:30]:
        assert v.rlist.id is not None
        kb.button(text=f"📋 {v.rlist.name}", callback_data=button(list_id=v.rlist.id))
    kb.adjust(1)
    await message.answer(t(question), reply_markup=kb.as_markup())


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
    # 0: a new list named after the file, made only once there is something to put in it
    target = Target(callback_data.list_id or None, Path(upload["filename"]).stem)
    await import_telegram_file(message, state, user, services, bot, target, upload)


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
    target, upload = _target(pending), pending["upload"]
    await import_telegram_file(message, state, user, services, bot, target, upload, sheet=sheet)


async def on_link(message: Message, state: FSMContext, user: User, services: Services) -> None:
    target = _target(await state.get_data())
    await import_url(message, state, user, services, target, (message.text or "").strip())


async def on_loose_link(
    message: Message, state: FSMContext, user: User, services: Services
) -> None:
    """A link sent outside any dialog: offer to import it into a list."""
    url = (message.text or "").strip()
    await state.update_data(link=url)
    name = link_name(url)
    await offer_targets(message, user, services, "import-link-where", name, LinkTarget)


def link_name(url: str) -> str:
    """A new list's name from a link: its file name, else its host."""
    parts = urlsplit(url)
    stem = Path(unquote(parts.path)).stem
    return stem if len(stem) > 2 else (parts.hostname or "link")


async def on_link_target(
    query: CallbackQuery,
    message: Message,
    callback_data: LinkTarget,
    state: FSMContext,
    user: User,
    services: Services,
) -> None:
    url = (await state.get_data()).get("link")
    if not url:
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    if callback_data.list_id:
        await lists.view(services.uow_factory, user.telegram_id, callback_data.list_id)
    await query.answer()
    target = Target(callback_data.list_id or None, link_name(url))
    await import_url(message, state, user, services, target, url)


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
    """Fetches the list again from where it came from (``usecases.reimport``; a file
    must be sent again): new members are added, known ones updated, and those gone from
    the source are offered for removal. A link that fails keeps the step open for a
    file or another link, as a first import from a link does."""
    uow_factory, uid, list_id = services.uow_factory, user.telegram_id, callback_data.list_id
    rlist = (await lists.view(uow_factory, uid, list_id)).rlist
    await query.answer()
    again = Target(list_id, sync=True)
    sources = reimports.Sources(services.fetcher, services.sendsay_source)
    with tempfile.TemporaryDirectory(prefix="mailforge-reimport-") as tmp:

        async def downloading() -> None:
            await message.answer(t("import-downloading"))

        async def importing(
            progress: ProgressCallback,
        ) -> tuple[RecipientList | None, ImportReport]:
            done = await reimports.reimport(
                *(uow_factory, services.importer, sources, uid, list_id, Path(tmp)),
                labels=rejected_labels(),
                progress=progress,
                downloading=downloading,
            )
            if done.report is None:
                raise _NotImported(done)
            return None, done.report

        try:
            imported = await show_import(message, services, again, importing)
        except _NotImported as nothing:
            if nothing.done.needs_file:
                await ask_for_source(
                    message, state, list_id, "import-reimport-needs-file", sync=True
                )
            else:
                await message.answer(t("import-subscribers-done", added=nothing.done.added))
            return
        except DomainError as error:
            if rlist.source_kind is not ListSourceKind.url:
                raise
            await keep_open(message, state, again, error_text(error))
            return
    if rlist.source_kind is ListSourceKind.url:
        await (state.clear() if imported else keep_open(message, state, again))


class _NotImported(Exception):
    """A re-import that fetched nothing to import (subscribers, or a file is needed)."""

    def __init__(self, done: reimports.Reimported) -> None:
        super().__init__(done.kind.value)
        self.done = done


async def on_remove_gone(
    query: CallbackQuery, message: Message, callback_data: ListCD, user: User, services: Services
) -> None:
    """The offer's confirmation: the members gone from the source leave the list."""
    uow_factory, uid, list_id = services.uow_factory, user.telegram_id, callback_data.list_id
    await lists.view(uow_factory, uid, list_id)
    await query.answer()
    removed = await lists.remove_gone(uow_factory, uid, list_id)
    await message.edit_text(t("import-gone-removed", count=removed))


async def ask_for_source(
    message: Message, state: FSMContext, list_id: int, key: str, *, sync: bool = False
) -> None:
    await state.set_state(ListsFlow.awaiting_source)
    await state.update_data(list_id=list_id, new_name="", sync=sync)
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
    await import_sendsay(message, user, services, Target(callback_data.list_id), ref)


async def not_a_source(message: Message) -> None:
    await message.answer(t("import-ask-source"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsStaff)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.message.register(on_document, F.document)
    router.message.register(on_link, ListsFlow.awaiting_source, F.text.regexp(LINK))
    router.message.register(on_loose_link, StateFilter(None), F.text.regexp(LINK))
    router.message.register(
        not_a_source, ListsFlow.awaiting_source, F.text & ~F.text.startswith("/")
    )
    button = router.callback_query.register
    button(on_upload, ListCD.filter(F.action == ListAct.upload))
    button(on_subscribers, ListCD.filter(F.action == ListAct.subscribers))
    button(on_sendsay, ListCD.filter(F.action == ListAct.sendsay))
    button(on_reimport, ListCD.filter(F.action == ListAct.reimport))
    button(on_remove_gone, ListCD.filter(F.action == ListAct.remove_gone))
    button(on_upload_target, UploadTarget.filter())
    button(on_sheet_pick, SheetPick.filter())
    button(on_link_target, LinkTarget.filter())
    button(on_sendsay_pick, SendsayPick.filter())
    return router
