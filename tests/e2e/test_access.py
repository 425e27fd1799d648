"""Who may use the bot, driven end to end through the fake Bot API."""

from __future__ import annotations

from domain.users import Role
from handlers.menu import ADMIN_COMMANDS, MANAGER_COMMANDS, STRANGER_COMMANDS
from tests.e2e.conftest import ADMIN, BotHarness

MANAGER = 2002
STRANGER = 3003
ADMIN_MENU = list(ADMIN_COMMANDS)
MANAGER_MENU = list(MANAGER_COMMANDS)
STRANGER_MENU = list(STRANGER_COMMANDS)


async def role_of(bot: BotHarness, user_id: int) -> Role | None:
    async with bot.app.db.uow_factory() as uow:
        user = await uow.users.get(user_id)
    return user.role if user and user.is_staff else None


async def test_stranger_is_refused_with_their_id_and_nothing_else(bot: BotHarness) -> None:
    for text in ("/help", "hello", "/users", "/grant 3003 admin", "/new"):
        reply = await bot.say(STRANGER, text, language_code="en")
        assert "no access" in reply.text
        assert str(STRANGER) in reply.text
        assert reply.buttons == []
    assert len(bot.api.messages(STRANGER)) == 5
    subscribed = await bot.say(STRANGER, "/start", language_code="en")
    assert str(STRANGER) in subscribed.text and "/stop" in subscribed.text
    assert bot.api.commands_for(STRANGER) == STRANGER_MENU
    assert await role_of(bot, STRANGER) is None


async def test_admin_from_settings_sees_admin_help_and_menu(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, "/start", language_code="en")
    assert "You are a MailForge <b>admin</b>" in reply.raw_text
    assert "/grant" in reply.text and "/users" in reply.text
    assert bot.api.commands_for(ADMIN) == ADMIN_MENU


async def test_admin_grants_a_manager_who_is_told_and_sees_the_manager_menu(
    bot: BotHarness,
) -> None:
    await bot.say(MANAGER, "/start", language_code="en", username="mona")
    reply = await bot.say(ADMIN, f"/grant {MANAGER} manager", language_code="en")
    assert reply.text == "Done: @mona is now manager."
    told = await bot.api.wait_for_message(MANAGER, contains="You have been given the role")
    assert "manager" in told.text
    assert bot.api.commands_for(MANAGER) == MANAGER_MENU
    help_reply = await bot.say(MANAGER, "/help", language_code="en")
    assert "You are a MailForge <b>manager</b>" in help_reply.raw_text
    assert "/grant" not in help_reply.text
    assert await role_of(bot, MANAGER) is Role.manager


async def test_a_managers_grant_is_refused_and_changes_nothing(bot: BotHarness) -> None:
    await bot.say(ADMIN, f"/grant {MANAGER} manager")
    for command in (f"/grant {STRANGER} admin", f"/revoke {ADMIN}", "/users"):
        reply = await bot.say(MANAGER, command, language_code="en")
        assert reply.text == "This command is for administrators only."
    assert await role_of(bot, STRANGER) is None
    assert await role_of(bot, ADMIN) is Role.admin


async def test_the_last_admin_can_be_neither_revoked_nor_demoted(bot: BotHarness) -> None:
    for command in (f"/revoke {ADMIN}", f"/grant {ADMIN} manager"):
        reply = await bot.say(ADMIN, command, language_code="en")
        assert "last active administrator" in reply.text
    assert await role_of(bot, ADMIN) is Role.admin


async def test_a_second_admin_can_demote_the_first(bot: BotHarness) -> None:
    await bot.say(ADMIN, f"/grant {MANAGER} admin")
    reply = await bot.say(MANAGER, f"/grant {ADMIN} manager", language_code="en")
    assert reply.text.startswith("Done:")
    assert await role_of(bot, ADMIN) is Role.manager
    assert bot.api.commands_for(ADMIN) == MANAGER_MENU


async def test_a_revoked_manager_loses_access_at_once(bot: BotHarness) -> None:
    await bot.say(ADMIN, f"/grant {MANAGER} manager")
    assert "manager" in (await bot.say(MANAGER, "/help", language_code="en")).raw_text
    reply = await bot.say(ADMIN, f"/revoke {MANAGER}", language_code="en")
    assert reply.text.startswith("Access of")
    await bot.api.wait_for_message(MANAGER, contains="revoked")
    refused = await bot.say(MANAGER, "/help", language_code="en")
    assert "no access" in refused.text
    assert bot.api.commands_for(MANAGER) == STRANGER_MENU


async def test_bad_grant_and_revoke_arguments_get_a_usage_line(bot: BotHarness) -> None:
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


async def test_grant_by_username_of_someone_the_bot_has_seen(bot: BotHarness) -> None:
    await bot.say(STRANGER, "hi", username="Ann_K")
    reply = await bot.say(ADMIN, "/grant @ann_k admin", language_code="en")
    assert reply.text == "Done: @Ann_K is now admin."
    unknown = await bot.say(ADMIN, "/grant @nobody_here", language_code="en")
    assert "has not seen @nobody_here" in unknown.text
    assert await role_of(bot, STRANGER) is Role.admin


async def test_grant_by_forwarding_a_message_from_the_person(bot: BotHarness) -> None:
    bot.api.forward_from(
        ADMIN, STRANGER, "please add me", original_first_name="Pavel", language_code="en"
    )
    ask = await bot.api.wait_for_message(ADMIN, contains="Which role")
    assert str(STRANGER) in ask.text and ask.buttons == ["manager", "admin", "Cancel"]
    done = await bot.press(ADMIN, "manager")
    assert done.text.startswith("Done:")
    assert await role_of(bot, STRANGER) is Role.manager


async def test_users_lists_staff_page_by_page(bot: BotHarness) -> None:
    for user_id in range(5000, 5012):
        await bot.say(ADMIN, f"/grant {user_id} manager")
    first = await bot.say(ADMIN, "/users", language_code="en")
    assert "Staff</b> — 13, page 1 of 2" in first.raw_text
    assert f"({ADMIN}) — admin; granted by the ADMIN_IDS setting" in first.text
    assert first.buttons == ["▶️"]
    second = await bot.press(ADMIN, "▶️")
    assert second.message_id == first.message_id
    assert "page 2 of 2" in second.text and "(5011) — manager" in second.text
    assert f"granted by {ADMIN}" in second.text
    assert second.buttons == ["◀️"]


async def test_forged_or_foreign_buttons_get_an_alert_and_change_nothing(
    bot: BotHarness,
) -> None:
    await bot.say(ADMIN, f"/grant {MANAGER} manager")
    menu = await bot.say(MANAGER, "/help", language_code="en")
    answer = await bot.alert(MANAGER, f"grant:{MANAGER}:admin", menu.message_id)
    assert answer["show_alert"] and "outdated or not available" in answer["text"]
    answer = await bot.alert(MANAGER, "users:0", menu.message_id)
    assert "outdated or not available" in answer["text"]
    garbage = await bot.alert(ADMIN, "grant:not-a-number:admin", menu.message_id)
    assert "outdated or not available" in garbage["text"]
    stranger = await bot.alert(STRANGER, f"grant:{STRANGER}:admin", 1)
    assert str(STRANGER) in stranger["text"]
    assert await role_of(bot, MANAGER) is Role.manager
    assert await role_of(bot, STRANGER) is None


async def test_unknown_command_gets_help_for_the_callers_role(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, "/frobnicate", language_code="en")
    assert reply.text.startswith("There is no such command.")
    assert "/grant" in reply.text


async def test_answers_follow_the_users_language_with_russian_fallback(bot: BotHarness) -> None:
    english = await bot.say(STRANGER, "/help", language_code="en")
    assert english.text.startswith("Hello!")
    russian = await bot.say(STRANGER, "/help", language_code="ru")
    assert russian.text.startswith("Здравствуйте!")
    german = await bot.say(STRANGER, "/help", language_code="de")
    assert german.text.startswith("Здравствуйте!")


async def test_every_role_change_is_in_the_audit_log(bot: BotHarness) -> None:
    await bot.say(ADMIN, f"/grant {MANAGER} manager")
    await bot.say(ADMIN, f"/revoke {MANAGER}")
    async with bot.app.db.uow_factory() as uow:
        entries = await uow.audit.recent()
    actions = [(e.actor_id, e.action, e.target_id) for e in reversed(entries)]
    assert actions == [
        (None, "role.grant", str(ADMIN)),
        (ADMIN, "role.grant", str(MANAGER)),
        (ADMIN, "role.revoke", str(MANAGER)),
    ]
