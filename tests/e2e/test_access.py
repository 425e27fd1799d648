"""Who may use the bot, driven end to end through the fake Bot API: the chat side of
``domain.usecases.roles`` (its rules are specified in ``tests/unit/test_role_usecases.py``):
the answers, the menus, the usage lines of /grant and /revoke, the buttons."""

from __future__ import annotations

from domain.usecases import roles
from domain.users import Role, User
from handlers.menu import ADMIN_COMMANDS, MANAGER_COMMANDS, STRANGER_COMMANDS
from tests.e2e.conftest import ADMIN, BotHarness

MANAGER = 2002
STRANGER = 3003
PAVEL = 4004
ADMIN_MENU = list(ADMIN_COMMANDS)
MANAGER_MENU = list(MANAGER_COMMANDS)
STRANGER_MENU = list(STRANGER_COMMANDS)


class _Quiet:
    async def access_changed(self, user: User) -> None:
        return None


async def role_of(bot: BotHarness, user_id: int) -> Role | None:
    async with bot.app.db.uow_factory() as uow:
        user = await uow.users.get(user_id)
    return user.role if user and user.is_staff else None


async def test_a_stranger_is_refused_and_an_admin_grants_and_revokes_through_the_chat(
    bot: BotHarness,
) -> None:
    """One bot for both (each started its own): the stranger is refused first, while no
    role has been given; the admin's journey then makes that stranger an admin."""
    await a_stranger_is_refused_with_their_id_in_their_language(bot)
    await an_admin_grants_and_revokes_through_the_chat(bot)


async def a_stranger_is_refused_with_their_id_in_their_language(bot: BotHarness) -> None:
    for text in ("/help", "hello", "/users", "/grant 3003 admin", "/new"):
        reply = await bot.say(STRANGER, text, language_code="en")
        assert "no access" in reply.text
        assert str(STRANGER) in reply.text
        assert reply.buttons == []
    assert len(bot.api.messages(STRANGER)) == 5
    # answers follow the user's language, Russian when it has none of theirs
    english = await bot.say(STRANGER, "/help", language_code="en")
    assert english.text.startswith("Hello!")
    russian = await bot.say(STRANGER, "/help", language_code="ru")
    assert russian.text.startswith("Здравствуйте!")
    german = await bot.say(STRANGER, "/help", language_code="de")
    assert german.text.startswith("Здравствуйте!")
    subscribed = await bot.say(STRANGER, "/start", language_code="en")
    assert str(STRANGER) in subscribed.text and "/stop" in subscribed.text
    assert bot.api.commands_for(STRANGER) == STRANGER_MENU
    assert await role_of(bot, STRANGER) is None


async def an_admin_grants_and_revokes_through_the_chat(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, "/start", language_code="en")
    assert "You are a MailForge <b>admin</b>" in reply.raw_text
    assert "/grant" in reply.text and "/users" in reply.text
    assert bot.api.commands_for(ADMIN) == ADMIN_MENU
    unknown = await bot.say(ADMIN, "/frobnicate", language_code="en")
    assert unknown.text.startswith("There is no such command.") and "/grant" in unknown.text

    # the use case's refusals reach the chat as a sentence
    for command in (f"/revoke {ADMIN}", f"/grant {ADMIN} manager"):
        reply = await bot.say(ADMIN, command, language_code="en")
        assert "last active administrator" in reply.text
    for command in (
        "/grant",
        f"/grant abc {Role.manager}",
        f"/grant {MANAGER} king",
        f"/grant {MANAGER} admin extra",
    ):
        reply = await bot.say(ADMIN, command, language_code="en")
        assert reply.text.startswith("How to grant a role"), command
    for command in ("/revoke", "/revoke 1 2", "/revoke x"):
        reply = await bot.say(ADMIN, command, language_code="en")
        assert reply.text.startswith("How to revoke access"), command
    reply = await bot.say(ADMIN, f"/revoke {STRANGER}", language_code="en")
    assert "has no role" in reply.text
    assert await role_of(bot, MANAGER) is None
    assert await role_of(bot, ADMIN) is Role.admin

    # a grant by id: the person is told and gets the manager's menu and help
    await bot.say(MANAGER, "hello", language_code="en", username="mona")
    reply = await bot.say(ADMIN, f"/grant {MANAGER} manager", language_code="en")
    assert reply.text == "Done: @mona is now manager."
    told = await bot.api.wait_for_message(MANAGER, contains="You have been given the role")
    assert "manager" in told.text
    assert bot.api.commands_for(MANAGER) == MANAGER_MENU
    help_reply = await bot.say(MANAGER, "/help", language_code="en")
    assert "You are a MailForge <b>manager</b>" in help_reply.raw_text
    assert "/grant" not in help_reply.text

    # a manager's admin commands and forged buttons are refused and change nothing
    for command in (f"/grant {STRANGER} admin", f"/revoke {ADMIN}", "/users"):
        reply = await bot.say(MANAGER, command, language_code="en")
        assert reply.text == "This command is for administrators only."
    answer = await bot.alert(MANAGER, f"grant:{MANAGER}:admin", help_reply.message_id)
    assert answer["show_alert"] and "outdated or not available" in answer["text"]
    answer = await bot.alert(MANAGER, "users:0", help_reply.message_id)
    assert "outdated or not available" in answer["text"]
    garbage = await bot.alert(ADMIN, "grant:not-a-number:admin", help_reply.message_id)
    assert "outdated or not available" in garbage["text"]
    stranger = await bot.alert(STRANGER, f"grant:{STRANGER}:admin", 1)
    assert str(STRANGER) in stranger["text"]
    assert (await role_of(bot, MANAGER), await role_of(bot, STRANGER)) == (Role.manager, None)
    assert await role_of(bot, ADMIN) is Role.admin

    # by a @username the bot has seen, and by forwarding a message from the person
    await bot.say(STRANGER, "hi", username="Ann_K")
    reply = await bot.say(ADMIN, "/grant @ann_k admin", language_code="en")
    assert reply.text == "Done: @Ann_K is now admin."
    unknown = await bot.say(ADMIN, "/grant @nobody_here", language_code="en")
    assert "has not seen @nobody_here" in unknown.text
    assert await role_of(bot, STRANGER) is Role.admin
    bot.api.forward_from(
        ADMIN, PAVEL, "please add me", original_first_name="Pavel", language_code="en"
    )
    ask = await bot.api.wait_for_message(ADMIN, contains="Which role")
    assert str(PAVEL) in ask.text and ask.buttons == ["manager", "admin", "Cancel"]
    done = await bot.press(ADMIN, "manager")
    assert done.text.startswith("Done:")
    assert await role_of(bot, PAVEL) is Role.manager

    # /users pages the staff: admins first, who granted each role
    for user_id in range(5000, 5009):
        await roles.grant_role(
            bot.app.db.uow_factory, _Quiet(), actor_id=ADMIN, target_id=user_id, role=Role.manager
        )
    first = await bot.say(ADMIN, "/users", language_code="en")
    assert "Staff</b> — 13, page 1 of 2" in first.raw_text
    assert f"({ADMIN}) — admin; granted by the ADMIN_IDS setting" in first.text
    assert first.buttons == ["▶️"]
    second = await bot.press(ADMIN, "▶️")
    assert second.message_id == first.message_id
    assert "page 2 of 2" in second.text and "(5008) — manager" in second.text
    assert f"granted by {ADMIN}" in second.text
    assert second.buttons == ["◀️"]

    # a revoked manager loses access at once
    reply = await bot.say(ADMIN, f"/revoke {MANAGER}", language_code="en")
    assert reply.text.startswith("Access of")
    await bot.api.wait_for_message(MANAGER, contains="revoked")
    refused = await bot.say(MANAGER, "/help", language_code="en")
    assert "no access" in refused.text
    assert bot.api.commands_for(MANAGER) == STRANGER_MENU
    async with bot.app.db.uow_factory() as uow:
        entries = await uow.audit.recent()
    assert (entries[0].actor_id, entries[0].action, entries[0].target_id) == (
        ADMIN,
        "role.revoke",
        str(MANAGER),
    )
