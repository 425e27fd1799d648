"""Callback data and keyboards of the recipient-list screens."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.pagination import Page
from domain.recipients import Address
from domain.usecases.lists import ListView
from handlers.i18n import t


class ListAct(StrEnum):
    """List buttons (the values travel in callback data: keep them)."""

    home = "home"
    new = "new"
    open = "open"
    members = "members"
    search = "search"
    add = "add"
    remove = "remove"
    upload = "upload"
    reimport = "reimport"
    remove_gone = "gone"  # members gone from the source, after a re-import
    subscribers = "subscribers"
    sendsay = "sendsay"
    rename = "rename"
    delete = "delete"
    delete_yes = "delete_yes"


class ListCD(CallbackData, prefix="l"):
    action: ListAct
    list_id: int = 0
    page: int = 0


class SavedAct(StrEnum):
    """Saved segments (``lists_segments``); values travel in callback data: keep them."""

    browse = "index"
    delete = "del"


class SavedCD(CallbackData, prefix="ss"):
    action: SavedAct
    segment_id: int = 0


class TagCD(CallbackData, prefix="tag"):
    """A list card's 🏷 Tag (``lists_tags``)."""

    list_id: int


class UploadTarget(CallbackData, prefix="up"):
    list_id: int  # 0: a new list named after the file


class LinkTarget(CallbackData, prefix="lnk"):
    list_id: int  # 0: a new list named after the link


class SheetPick(CallbackData, prefix="sheet"):
    index: int


class SendsayPick(CallbackData, prefix="ssl"):
    list_id: int
    index: int


def index_keyboard(views: list[ListView]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for v in views:
        assert v.rlist.id is not None
        kb.button(
            text=f"📋 {v.rlist.name}",
            callback_data=ListCD(action=ListAct.open, list_id=v.rlist.id),
        )
    kb.button(text=t("lists-button-new"), callback_data=ListCD(action=ListAct.new))
    kb.button(text=t("segments-button"), callback_data=SavedCD(action=SavedAct.browse))
    kb.adjust(1)
    return kb.as_markup()


def card_keyboard(list_id: int, can_manage: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    rows = [
        (ListAct.members, ListAct.search),
        (ListAct.add, ListAct.remove),
        (ListAct.upload, ListAct.reimport),
        (ListAct.subscribers, ListAct.sendsay),
    ]
    if can_manage:
        rows.append((ListAct.rename, ListAct.delete))
    for row in rows:
        for act in row:
            kb.button(
                text=t(f"lists-button-{act.value}"),
                callback_data=ListCD(action=act, list_id=list_id),
            )
    kb.button(text=t("tags-button"), callback_data=TagCD(list_id=list_id))
    kb.button(text=t("button-back"), callback_data=ListCD(action=ListAct.home))
    kb.adjust(*([2] * len(rows)), 1, 1)
    return kb.as_markup()


def members_keyboard(list_id: int, page: Page[Address]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if page.has_prev:
        kb.button(
            text="◀️",
            callback_data=ListCD(action=ListAct.members, list_id=list_id, page=page.page - 1),
        )
    if page.has_next:
        kb.button(
            text="▶️",
            callback_data=ListCD(action=ListAct.members, list_id=list_id, page=page.page + 1),
        )
    kb.button(text=t("button-back"), callback_data=ListCD(action=ListAct.open, list_id=list_id))
    kb.adjust(2 if page.has_prev and page.has_next else 1, 1)
    return kb.as_markup()


def confirm_delete_keyboard(list_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("lists-button-delete-yes"),
        callback_data=ListCD(action=ListAct.delete_yes, list_id=list_id),
    )
    kb.button(text=t("button-cancel"), callback_data=ListCD(action=ListAct.open, list_id=list_id))
    return kb.as_markup()


def cancel_keyboard(list_id: int) -> InlineKeyboardMarkup:
    """Back to the list's card (0: a list not made yet, so to the lists)."""
    kb = InlineKeyboardBuilder()
    action = ListAct.open if list_id else ListAct.home
    kb.button(text=t("button-cancel"), callback_data=ListCD(action=action, list_id=list_id))
    return kb.as_markup()
