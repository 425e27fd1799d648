"""Mailings: drafts saved as the manager goes, edits, duplicates, deletion, browsing.

A manager sees and acts on their own mailings only; an admin on everyone's. A forged id
of someone else's mailing looks exactly like a missing one (``mailings-not-found``), so
ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from domain.buttons import check_buttons
from domain.clock import Clock, SystemClock
from domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, visible_to
from domain.media import check_album_buttons
from domain.pagination import Page
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.runs import MailingRun
from domain.usecases.access import record, require_staff
from domain.users import User

NAME_MAX = 100
SUBJECT_MAX = 250
PAGE_SIZE = 8
EMAIL_CHANNELS = frozenset({Channel.email, Channel.sendsay})
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "channel",
        "subject",
        "body",
        "template_id",
        "media",
        "options",
        "fast",
        "list_ids",
        "targeting",
        "schedule",
    }
)


async def load_own(uow: UnitOfWork, actor_id: int, mailing_id: int) -> tuple[User, Mailing]:
    """The mailing if the caller may act on it; someone else's looks like a missing one."""
    actor = await require_staff(uow, actor_id)
    mailing = await uow.mailings.get(mailing_id)
    if mailing is None or not visible_to(mailing.ownership, actor):
        raise NotFound("mailings-not-found")
    return actor, mailing


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput("mailings-name-invalid", max=NAME_MAX)
    return name


def clean_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not 1 <= len(subject) <= SUBJECT_MAX:
        raise InvalidInput("mailings-subject-invalid", max=SUBJECT_MAX)
    return subject


async def _ensure_name_free(
    uow: UnitOfWork, owner_id: int, name: str, exclude: int | None
) -> None:
    if await uow.mailings.name_taken(owner_id, name, exclude_id=exclude):
        raise Conflict("mailings-name-taken", name=name)


async def create_draft(
    uow_factory: UnitOfWorkFactory, actor_id: int, name: str, timezone: str, **changes: Any
) -> Mailing:
    """A new mailing of ``actor_id``. The bot's first dialog step stores it with its name
    alone, so nothing typed is ever lost; the API gives every field at once: ``changes``
    (``update``'s fields but the name) are checked as ``update`` checks them, in the same
    transaction, so a refused one leaves nothing behind (no draft, no audit row)."""
    name = clean_name(name)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _ensure_name_free(uow, actor_id, name, None)
        mailing = await uow.mailings.add(
            Mailing(
                owner_id=actor_id,
                name=name,
                channel=Channel.telegram,
                schedule=Schedule(timezone=timezone),
            )
        )
        if changes:
            await _apply(uow, mailing, _editable(changes, EDITABLE_FIELDS - {"name"}))
        await record(uow, actor_id, "mailing.create", ("mailing", mailing.id), {"name": name})
        await uow.commit()
    return mailing


def ensure_editable(mailing: Mailing) -> None:
    if not mailing.is_editable:
        raise IllegalTransition("mailings-not-editable", status=mailing.status.value)


async def update(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, **changes: Any
) -> Mailing:
    """Change some fields of an editable mailing; each value is validated on its own."""
    changes = _editable(changes, EDITABLE_FIELDS)
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        ensure_editable(mailing)
        await _apply(uow, mailing, changes)
        await uow.commit()
    return mailing


def _editable(changes: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    unknown = set(changes) - fields
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    return changes


async def _apply(uow: UnitOfWork, mailing: Mailing, changes: dict[str, Any]) -> None:
    """``changes`` checked, then made to ``mailing`` and stored in ``uow`` (not committed)."""
    if "name" in changes:
        changes["name"] = clean_name(changes["name"])
        await _ensure_name_free(uow, mailing.owner_id, changes["name"], mailing.id)
    if changes.get("subject") is not None:
        changes["subject"] = clean_subject(changes["subject"])
    media = changes.get("media", mailing.media)
    if "body" in changes and not str(changes["body"]).strip() and not media:
        raise InvalidInput("mailings-body-empty")  # a photo alone is a message, though
    if "media" in changes or "options" in changes:
        check_album_buttons(media, changes.get("options", mailing.options))
    if "options" in changes:
        changes["options"] = _checked_buttons(changes["options"], mailing.options)
    if "list_ids" in changes:
        changes["list_ids"] = await _existing_lists(uow, changes["list_ids"])
    if changes.get("template_id") is not None and (
        await uow.templates.get(changes["template_id"]) is None
    ):
        raise NotFound("templates-not-found")
    for field, value in changes.items():
        setattr(mailing, field, value)
    await uow.mailings.update(mailing)


def _checked_buttons(options: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """New URL buttons pass ``domain.buttons``' rules, stored as the dialog stores them
    (buttons kept as they were are left alone)."""
    rows = options.get("buttons")
    if rows is None or rows == before.get("buttons"):
        return options
    return {**options, "buttons": check_buttons(rows)}


async def _existing_lists(uow: UnitOfWork, list_ids: list[int]) -> list[int]:
    found = []
    for list_id in dict.fromkeys(list_ids):
        if await uow.lists.get(list_id) is None:
            raise NotFound("lists-not-found")
        found.append(list_id)
    return found


async def get(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> Mailing:
    async with uow_factory() as uow:
        return (await load_own(uow, actor_id, mailing_id))[1]


async def browse(
    uow_factory: UnitOfWorkFactory,
    actor_id: int,
    page: int,
    status: MailingStatus | None = None,
) -> Page[Mailing]:
    """A manager's own mailings; an admin's view includes everyone's and the archive."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        return await uow.mailings.search(
            owner_id=None if actor.is_admin else actor_id,
            status=status,
            page=max(page, 0),
            size=PAGE_SIZE,
            include_archived=actor.is_admin,
        )


async def duplicate(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, copy_word: str = "copy"
) -> Mailing:
    """A new draft with the same content and lists, owned by the caller, never scheduled,
    named "<name> (<copy_word>)" (then "<copy_word> 2"…) in the caller's language."""
    async with uow_factory() as uow:
        await load_own(uow, actor_id, mailing_id)
        source = await uow.mailings.get(mailing_id)
        assert source is not None
        name = await _copy_name(uow, actor_id, source.name, copy_word)
        copy = replace(
            source,
            id=None,
            owner_id=actor_id,
            name=name,
            status=MailingStatus.draft,
            schedule=Schedule(timezone=source.schedule.timezone),
            archived_at=None,
            created_at=None,
            updated_at=None,
            options=dict(source.options),
            list_ids=list(source.list_ids),
            media=dict(source.media) if source.media else None,
        )
        copy = await uow.mailings.add(copy)
        await record(
            uow, actor_id, "mailing.duplicate", ("mailing", copy.id), {"from": mailing_id}
        )
        await uow.commit()
    return copy


async def _copy_name(uow: UnitOfWork, owner_id: int, name: str, word: str) -> str:
    word = word[:20]
    base = name[: NAME_MAX - len(word) - 7]  # " (<word> 999)"
    for n in range(1, 1000):
        candidate = f"{base} ({word})" if n == 1 else f"{base} ({word} {n})"
        if not await uow.mailings.name_taken(owner_id, candidate):
            return candidate
    raise Conflict("mailings-name-taken", name=name)


async def delete(
    uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int, clock: Clock | None = None
) -> bool:
    """Remove a mailing that never ran; archive one with runs. ``True`` when archived.

    A running or paused mailing must be cancelled first.
    """
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        if mailing.status in (MailingStatus.running, MailingStatus.paused):
            raise IllegalTransition("mailings-delete-active", status=mailing.status.value)
        has_runs = await uow.runs.last_for_mailing(mailing_id) is not None
        if has_runs:
            mailing.archived_at = (clock or SystemClock()).now()
            if mailing.status is MailingStatus.scheduled:
                mailing.status = MailingStatus.cancelled
            await uow.mailings.update(mailing)
        else:
            await uow.mailings.delete(mailing_id)
        await record(
            uow,
            actor_id,
            "mailing.archive" if has_runs else "mailing.delete",
            ("mailing", mailing.id),
            {"name": mailing.name},
        )
        await uow.commit()
    return has_runs


def needs_subject(channel: Channel) -> bool:
    return channel in EMAIL_CHANNELS


@dataclass(frozen=True, slots=True)
class Card:
    mailing: Mailing
    list_names: list[str]
    last_run: MailingRun | None
    author: str | None = None  # whose mailing it is, for an admin (who sees everyone's)


async def card(uow_factory: UnitOfWorkFactory, actor_id: int, mailing_id: int) -> Card:
    async with uow_factory() as uow:
        actor, mailing = await load_own(uow, actor_id, mailing_id)
        names = []
        for list_id in mailing.list_ids:
            rlist = await uow.lists.get(list_id)
            if rlist is not None:
                names.append(rlist.name)
        author = await _author(uow, mailing.owner_id) if actor.is_admin else None
        return Card(mailing, names, await uow.runs.last_for_mailing(mailing_id), author)


async def authors(
    uow_factory: UnitOfWorkFactory, actor_id: int, found: list[Mailing]
) -> dict[int, str]:
    """Who wrote each mailing, by owner id: an admin's list mixes everyone's; a manager's
    holds their own only (empty)."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        if not actor.is_admin:
            return {}
        return {owner: await _author(uow, owner) for owner in {m.owner_id for m in found}}


async def _author(uow: UnitOfWork, owner_id: int) -> str:
    owner = await uow.users.get(owner_id)
    return owner.display_name if owner is not None else str(owner_id)
