"""Admins manage people: /grant, /revoke, /users, and granting by a forwarded message."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, MessageOriginUser
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.errors import DomainError
from domain.pagination import Page
from domain.ports.uow import UnitOfWorkFactory
from domain.usecases import roles, subscribers
from domain.users import Role, User
from handlers.callbacks import GrantChoice, UnsuppressCD, UsersPage
from handlers.filters import IsAdmin
from handlers.i18n import t
from handlers.services import Services

ROLE_WORDS = {
    "admin": Role.admin,
    "админ": Role.admin,
    "администратор": Role.admin,
    "manager": Role.manager,
    "менеджер": Role.manager,
}


async def grant(
    message: Message,
    command: CommandObject,
    user: User,
    services: Services,
) -> None:
    args = (command.args or "").split()
    role = ROLE_WORDS.get(args[1].lower()) if len(args) == 2 else Role.manager
    if not 1 <= len(args) <= 2 or role is None:
        await message.answer(t("grant-usage"))
        return
    target_id = await _resolve(services.uow_factory, args[0])
    if target_id is None:
        await message.answer(t("grant-usage"))
        return
    target = await roles.grant_role(
        services.uow_factory,
        services.access_notifier,
        actor_id=user.telegram_id,
        target_id=target_id,
        role=role,
        clock=services.clock,
    )
    await message.answer(t("grant-done", who=target.display_name, role=t(f"role-{role.value}")))


async def revoke(
    message: Message,
    command: CommandObject,
    user: User,
    services: Services,
) -> None:
    args = (command.args or "").split()
    target_id = await _resolve(services.uow_factory, args[0]) if len(args) == 1 else None
    if target_id is None:
        await message.answer(t("revoke-usage"))
        return
    target = await roles.revoke_role(
        services.uow_factory,
        services.access_notifier,
        actor_id=user.telegram_id,
        target_id=target_id,
    )
    await message.answer(t("revoke-done", who=target.display_name))


async def _resolve(uow_factory: UnitOfWorkFactory, ref: str) -> int | None:
    """A numeric id or a known @username; ``None`` when it is neither (usage is shown)."""
    try:
        return await roles.resolve_user(uow_factory, ref)
    except DomainError as exc:
        if exc.key == "error-bad-user-ref":
            return None
        raise


async def grant_by_forward(message: Message) -> None:
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginUser) or origin.sender_user.is_bot:
        await message.answer(t("forward-hidden"))
        return
    person = origin.sender_user
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("role-manager"), callback_data=GrantChoice(user_id=person.id, role=Role.manager)
    )
    kb.button(text=t("role-admin"), callback_data=GrantChoice(user_id=person.id, role=Role.admin))
    kb.button(text=t("button-cancel"), callback_data=GrantChoice(user_id=person.id))
    kb.adjust(2, 1)
    await message.answer(
        t("forward-grant-ask", who=person.full_name, user_id=person.id),
        reply_markup=kb.as_markup(),
    )


async def grant_choice(
    query: CallbackQuery,
    callback_data: GrantChoice,
    user: User,
    services: Services,
) -> None:
    if callback_data.role is None:
        text = t("cancelled")
    else:
        target = await roles.grant_role(
            services.uow_factory,
            services.access_notifier,
            actor_id=user.telegram_id,
            target_id=callback_data.user_id,
            role=callback_data.role,
            clock=services.clock,
        )
        text = t("grant-done", who=target.display_name, role=t(f"role-{callback_data.role.value}"))
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text)


async def users(message: Message, user: User, services: Services) -> None:
    page = await roles.list_staff(services.uow_factory, actor_id=user.telegram_id, page=0)
    await message.answer(_users_text(page, services.tz), reply_markup=_users_keyboard(page))


async def users_page(
    query: CallbackQuery,
    callback_data: UsersPage,
    user: User,
    services: Services,
) -> None:
    uid = user.telegram_id
    page = await roles.list_staff(services.uow_factory, actor_id=uid, page=callback_data.page)
    await query.answer()
    if isinstance(query.message, Message):
        text = _users_text(page, services.tz)
        await query.message.edit_text(text, reply_markup=_users_keyboard(page))


def _users_text(page: Page[User], tz: tzinfo) -> str:
    lines = [t("users-title", page=page.page + 1, pages=page.pages, total=page.total)]
    for person in page.items:
        granted = (
            person.granted_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
            if person.granted_at
            else "—"
        )
        by = t("users-by-config") if person.granted_by is None else str(person.granted_by)
        lines.append(
            t(
                "users-line",
                who=person.display_name,
                user_id=person.telegram_id,
                role=t(f"role-{person.role.value}") if person.role else "—",
                by=by,
                when=granted,
            )
        )
    return "\n".join(lines)


def _users_keyboard(page: Page[User]) -> InlineKeyboardMarkup | None:
    kb = InlineKeyboardBuilder()
    if page.has_prev:
        kb.button(text="◀️", callback_data=UsersPage(page=page.page - 1))
    if page.has_next:
        kb.button(text="▶️", callback_data=UsersPage(page=page.page + 1))
    return kb.as_markup() if page.has_prev or page.has_next else None


LIFT_KEYS = {
    subscribers.Lift.lifted: "unsuppress-done",
    subscribers.Lift.not_suppressed: "unsuppress-not-suppressed",
    subscribers.Lift.needs_confirmation: "unsuppress-confirm-self",
}


async def unsuppress(
    message: Message,
    command: CommandObject,
    user: User,
    services: Services,
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(t("unsuppress-usage"))
        return
    kind, value = services.address_parser.parse(text)
    address, outcome = await subscribers.lift_suppression(
        services.uow_factory, actor_id=user.telegram_id, kind=kind, value=value
    )
    if outcome is not subscribers.Lift.needs_confirmation:
        await message.answer(t(LIFT_KEYS[outcome], address=address.value))
        return
    assert address.id is not None and address.unsubscribed_at is not None
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("unsuppress-yes"), callback_data=UnsuppressCD(address_id=address.id, yes=True)
    )
    kb.button(text=t("unsuppress-no"), callback_data=UnsuppressCD(address_id=address.id))
    when = address.unsubscribed_at.astimezone(services.tz).strftime("%d.%m.%Y %H:%M")
    await message.answer(
        t("unsuppress-confirm-self", address=address.value, when=when),
        reply_markup=kb.as_markup(),
    )


async def unsuppress_choice(
    query: CallbackQuery, callback_data: UnsuppressCD, user: User, services: Services
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(t("error-stale-button"), show_alert=True)
        return
    if not callback_data.yes:
        await query.answer()
        await query.message.edit_text(t("unsuppress-kept"))
        return
    address, outcome = await subscribers.lift_confirmed(
        services.uow_factory, actor_id=user.telegram_id, address_id=callback_data.address_id
    )
    await query.answer()
    await query.message.edit_text(t(LIFT_KEYS[outcome], address=address.value))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(IsAdmin)
    router.callback_query.filter(IsAdmin)
    router.message.register(grant, Command("grant"))
    router.message.register(revoke, Command("revoke"))
    router.message.register(users, Command("users"))
    router.message.register(unsuppress, Command("unsuppress"))
    router.message.register(grant_by_forward, F.forward_origin)
    router.callback_query.register(grant_choice, GrantChoice.filter())
    router.callback_query.register(users_page, UsersPage.filter())
    router.callback_query.register(unsuppress_choice, UnsuppressCD.filter())
    return router
