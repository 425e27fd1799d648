"""Message templates: shared by the team; only the author or an admin edits or deletes one.

A body is Telegram HTML exactly as the manager typed it (the handlers store aiogram's
``Message.html_text``), placeholders such as ``{{ name }}`` included. It must be HTML the
Bot API accepts and fit one text message. Mailings copy the text they use, so deleting a
template never changes a mailing (the database sets ``mailings.template_id`` to NULL).
"""

from __future__ import annotations

from domain.content import TEXT_LIMIT, check_html, visible_length, visible_text
from domain.errors import AccessDenied, Conflict, InvalidInput, NotFound
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.templates import Template
from domain.usecases.access import record, require_staff
from domain.users import User

NAME_MAX = 100
SUBJECT_MAX = 250
EDITABLE_FIELDS = frozenset({"name", "subject", "body"})


async def _template(uow: UnitOfWork, template_id: int) -> Template:
    template = await uow.templates.get(template_id)
    if template is None:
        raise NotFound("templates-not-found")
    return template


def can_manage(actor: User, template: Template) -> bool:
    """Whether ``actor`` may edit or delete ``template``."""
    return actor.is_admin or template.owner_id == actor.telegram_id


def _ensure_manager(actor: User, template: Template) -> None:
    if not can_manage(actor, template):
        raise AccessDenied("templates-not-owner")


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput("templates-name-invalid", max=NAME_MAX)
    return name


def clean_subject(subject: str | None) -> str | None:
    """One line of up to ``SUBJECT_MAX`` characters; empty means no subject."""
    subject = " ".join((subject or "").split())
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput("templates-subject-invalid", max=SUBJECT_MAX)
    return subject or None


def clean_body(body: str) -> str:
    """The body unchanged if Telegram would accept it as one HTML text message."""
    problem = check_html(body)
    if problem is not None:
        raise InvalidInput(problem.key, detail=problem.detail)
    if not visible_text(body).strip():
        raise InvalidInput("templates-body-empty")
    length = visible_length(body)
    if length > TEXT_LIMIT:
        raise InvalidInput("templates-body-too-long", limit=TEXT_LIMIT, length=length)
    return body


async def _ensure_free(uow: UnitOfWork, name: str, template_id: int | None = None) -> None:
    # Case-insensitive; the port has no lookup by name and a team has few templates.
    folded = name.casefold()
    for other in await uow.templates.all():
        if other.name.casefold() == folded and other.id != template_id:
            raise Conflict("templates-name-taken", name=name)


async def check_name(uow_factory: UnitOfWorkFactory, actor_id: int, name: str) -> str:
    """The cleaned name if a new template may take it (the first step of creating one)."""
    name = clean_name(name)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _ensure_free(uow, name)
    return name


async def browse(uow_factory: UnitOfWorkFactory, actor_id: int) -> list[Template]:
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        return await uow.templates.all()


async def get(
    uow_factory: UnitOfWorkFactory, actor_id: int, template_id: int, *, to_change: bool = False
) -> Template:
    """Any template for staff; with ``to_change`` only one the caller may edit or delete."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        template = await _template(uow, template_id)
        if to_change:
            _ensure_manager(actor, template)
        return template


async def create(
    uow_factory: UnitOfWorkFactory, actor_id: int, name: str, subject: str | None, body: str
) -> Template:
    name, subject, body = clean_name(name), clean_subject(subject), clean_body(body)
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        await _ensure_free(uow, name)
        template = await uow.templates.add(Template(name, actor_id, body, subject))
        await record(uow, actor_id, "template.create", ("template", template.id), {"name": name})
        await uow.commit()
    return template


async def update(
    uow_factory: UnitOfWorkFactory, actor_id: int, template_id: int, **changes: str | None
) -> Template:
    """Change ``name``, ``subject`` (``None`` removes it) or ``body``; each is validated."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "name" in changes:
        changes["name"] = clean_name(changes["name"] or "")
    if "subject" in changes:
        changes["subject"] = clean_subject(changes["subject"])
    if "body" in changes:
        changes["body"] = clean_body(changes["body"] or "")
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        template = await _template(uow, template_id)
        _ensure_manager(actor, template)
        if changes.get("name") is not None:
            await _ensure_free(uow, str(changes["name"]), template_id)
        changed = sorted(f for f, v in changes.items() if getattr(template, f) != v)
        if not changed:
            return template
        details: dict[str, object] = {"fields": changed}
        if "name" in changed:
            details.update({"from": template.name, "to": changes["name"]})
        for field in changed:
            setattr(template, field, changes[field])
        await uow.templates.update(template)
        await record(uow, actor_id, "template.update", ("template", template.id), details)
        await uow.commit()
    return template


async def delete(uow_factory: UnitOfWorkFactory, actor_id: int, template_id: int) -> str:
    """Returns the deleted template's name. Mailings made from it keep their own text."""
    async with uow_factory() as uow:
        actor = await require_staff(uow, actor_id)
        template = await _template(uow, template_id)
        _ensure_manager(actor, template)
        await uow.templates.delete(template_id)
        await record(
            uow, actor_id, "template.delete", ("template", template.id), {"name": template.name}
        )
        await uow.commit()
    return template.name
