"""Mailings in the bot: the create/edit dialog by typing and pressing only, preview,
duplicate, delete, cancel half-way, resume after a restart, and validation at each step."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from domain.mailings import Channel, Mailing, MailingStatus, ScheduleKind
from domain.recipients import Address, AddressKind, RecipientList
from domain.templates import Template
from domain.users import Role
from tests.e2e.conftest import ADMIN, BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.support.redis import REDIS_URL

M, OTHER = 2002, 2003


async def make_staff(bot: BotHarness) -> None:
    await grant(bot, M, OTHER)


async def make_list(bot: BotHarness, name: str, chats: list[int], emails: list[str] = ()) -> int:  # type: ignore[assignment]
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList(name, M))
        ids = []
        for chat in chats:
            a = await uow.addresses.upsert(
                Address(AddressKind.telegram, str(chat), {"name": f"R{chat}"})
            )
            ids.append(a.id)
        for email in emails:
            a = await uow.addresses.upsert(Address(AddressKind.email, email, {"name": email[0]}))
            ids.append(a.id)
        assert rlist.id is not None
        await uow.members.add_members(rlist.id, [i for i in ids if i is not None])
        await uow.commit()
        return rlist.id


async def stored(bot: BotHarness, name: str, owner: int = M) -> Mailing:
    async with bot.app.db.uow_factory() as uow:
        found = await uow.mailings.search(
            owner_id=owner, status=None, page=0, size=50, include_archived=True
        )
    matches = [m for m in found.items if m.name == name]
    assert matches, [m.name for m in found.items]
    return matches[0]


@pytest.fixture
async def staff(bot: BotHarness) -> AsyncIterator[BotHarness]:
    await make_staff(bot)
    yield bot


async def start_dialog(bot: BotHarness, name: str) -> None:
    ask = await bot.say(M, "/new", language_code="en")
    assert "What should it be called?" in ask.text
    channel = await bot.say(M, name, language_code="en")
    assert "Which channel" in channel.text


async def at_a_set_time(bot: BotHarness, name: str, list_button: str) -> None:
    """A new Telegram mailing "Hi" to one list, at the schedule step's "once" question."""
    await start_dialog(bot, name)
    await bot.press(M, "✈️ Telegram")
    await bot.say(M, "Hi", language_code="en")
    await bot.press(M, "Next ➡️")  # Telegram options
    await bot.press(M, "Next ➡️")  # tracking and UTM
    await bot.press(M, list_button)
    await bot.press(M, "Next ➡️")
    await bot.press(M, "🕐 Once, at a set time")


async def type_the_time(bot: BotHarness, name: str, when: str, answer: str) -> SentMessage:
    """Type ``when`` at the "once" question: the answer that contains ``answer``, once the
    preview of ``name`` that follows it has come too."""
    mark = bot.api.mark(M)
    bot.api.send_text(M, when, language_code="en")
    told = await bot.api.wait_for_message(M, since=mark, contains=answer)
    await bot.api.wait_for_message(M, since=mark, contains=f"Preview: {name}")
    return told


async def test_cancel_half_way_keeps_the_draft_and_it_can_be_continued(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with running_bot(fake_api, migrated_pg_url) as bot:
        await make_staff(bot)
        await start_dialog(bot, "Unfinished")
        await bot.press(M, "✈️ Telegram")
        await bot.say(M, "Draft text", language_code="en")
    # the bot restarts: memory FSM storage is gone, the draft is in the database
    async with running_bot(fake_api, migrated_pg_url) as bot:
        index = await bot.say(M, "/mailings", language_code="en")
        assert "📝 Unfinished" in index.buttons
        card = await bot.press(M, "📝 Unfinished", message_id=index.message_id)
        assert "Draft" in card.text or "draft" in card.text
        await bot.press(M, "✏️ Edit")
        lists_step = await bot.press(M, "Lists")
        assert "no lists yet" in lists_step.text or "Who should get it" in lists_step.text
        cancel = await bot.press(M, "Cancel")
        assert "draft is saved" in cancel.text
        mailing = await stored(bot, "Unfinished")
        assert mailing.body == "Draft text"


ACTIONS = {
    "view": "m:open:{id}:0:",
    "edit": "md:content:edit:{id}",
    "duplicate": "m:dup:{id}:0:",
    "delete": "m:del_yes:{id}:0:",
    "launch": "m:launch:{id}:0:",
}


WHO = ("stranger", "owner", "other", "admin")


async def permission_matrix(staff: BotHarness) -> None:
    """Each action's button, forged, by each kind of caller: the owner and an admin may,
    another manager and a stranger are refused and nothing changes. It runs at the end
    of the manager's journey, on its bot (it had a bot of its own; before that one per
    case, 20 starts); each case has its own mailing, owner and admin, so no dialog state
    of one case meets the next, and counts of mailings are taken before and after."""
    for n, (who, action) in enumerate(itertools.product(WHO, ACTIONS)):
        owner, admin = 2100 + n, 2200 + n
        await grant(staff, owner)
        await grant(staff, admin, role=Role.admin)
        await permission_case(staff, who, action, owner, admin)


async def permission_case(bot: BotHarness, who: str, action: str, owner: int, admin: int) -> None:
    case = f"{who} {action}"
    async with bot.app.db.uow_factory() as uow:
        m = await uow.mailings.add(
            Mailing(owner_id=owner, name="Secret", channel=Channel.telegram, body="x")
        )
        await uow.commit()
        before = await uow.mailings.search(owner_id=None, status=None, page=0, size=10)
    caller = {"stranger": 9999, "owner": owner, "other": OTHER, "admin": admin}[who]
    menu = await bot.say(caller, "/help", language_code="en")
    mark = bot.api.mark(caller)
    answers = len(bot.api.callback_answers)
    bot.api.press_data(caller, ACTIONS[action].format(id=m.id), menu.message_id)
    answer = await bot.api.wait_for_callback_answer(since=answers)
    allowed = who in {"owner", "admin"}
    if allowed and action != "launch":
        reply = await bot.api.wait_for_message(caller, since=mark)
        assert reply.text, case
    async with bot.app.db.uow_factory() as uow:
        still = await uow.mailings.get(m.id or 0)
        copies = await uow.mailings.search(owner_id=None, status=None, page=0, size=10)
    if not allowed:
        text = answer.get("text") or ""
        assert "no access" in text.lower() or "not yours" in text or str(caller) in text, case
        assert still is not None and still.body == "x", case
        assert copies.total == before.total, case
        return
    if action == "delete":
        assert still is None, case
    elif action == "duplicate":
        assert copies.total == before.total + 1, case
    elif action == "launch":  # allowed, but it has no lists: refused with the reason
        assert "Cannot launch" in (answer.get("text") or ""), case
    else:
        assert still is not None and still.body == "x", case


async def test_sendsay_email_and_webhook_mailings_when_their_channels_are_configured(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with running_bot(
        fake_api,
        migrated_pg_url,
        sendsay_account="acme",
        sendsay_api_key="k",
        sendsay_api_url="http://127.0.0.1:9/x",
        sendsay_from="news@example.com",  # Sendsay has no default sender: required
        smtp_host="127.0.0.1",
        smtp_from="News <news@example.com>",
        webhook_url="http://127.0.0.1:9/hook",
    ) as bot:
        await make_staff(bot)
        async with bot.app.db.uow_factory() as uow:
            await uow.templates.add(
                Template("Weekly", M, "<i>Digest</i> for {{ name }}", "Digest")
            )
            await uow.commit()
        await make_list(bot, "Mails", [], ["ann@example.com"])
        await start_dialog(bot, "Digest #1")
        subject = await bot.press(M, "📨 Sendsay")
        assert "subject" in subject.text
        too_long = await bot.say(M, "x" * 300, language_code="en")
        assert "1 to 250 characters" in too_long.text
        content = await bot.say(M, "Our weekly digest", language_code="en")
        assert "Send the message" in content.text
        pick = await bot.press(M, "📄 Use a template")
        assert pick.buttons[0] == "📄 Weekly"
        lists_step = await bot.press(M, "📄 Weekly")
        assert "Who should get it?" in lists_step.text
        mailing = await stored(bot, "Digest #1")
        assert mailing.body == "<i>Digest</i> for {{ name }}"
        assert mailing.subject == "Our weekly digest" and mailing.template_id is not None

        # Email: a subject, Back, a document; Webhook: no subject, every kind
        await make_list(bot, "Everyone", [7001], ["ann@example.com"])
        await start_dialog(bot, "Letter")
        subject = await bot.press(M, "✉️ Email (SMTP)")
        assert "subject" in subject.text
        back = await bot.press(M, "⬅️ Back")
        assert "Which channel" in back.text  # Back returns one step
        await bot.press(M, "✉️ Email (SMTP)")
        await bot.say(M, "Hello from us", language_code="en")
        mark = bot.api.mark(M)
        bot.api.send_document(
            M, "price.pdf", b"%PDF-1.4 price list", caption="Prices inside", language_code="en"
        )
        tracking = await bot.api.wait_for_message(M, since=mark)
        assert "Tracking and UTM tags" in tracking.text  # no Telegram options for email
        lists_step = await bot.press(M, "Next ➡️")
        assert "Who should get it?" in lists_step.text
        ticked = await bot.press(M, "▫️ Everyone (2)")
        assert "Will receive: 1" in ticked.text  # the email one only
        await bot.press(M, "Next ➡️")
        mark = bot.api.mark(M)
        bot.api.press(M, "▶️ I will launch it by hand")
        report = await bot.api.wait_for_message(M, since=mark, contains="Preview: Letter")
        assert "Subject: Hello from us" in report.text and "ann@example.com" in report.text
        letter = await stored(bot, "Letter")
        assert letter.channel is Channel.email and letter.subject == "Hello from us"
        assert letter.media is not None and letter.media["filename"] == "price.pdf"

        await start_dialog(bot, "Hook")
        content = await bot.press(M, "🔗 Webhook (API)")
        assert "Send the message" in content.text  # no subject for a webhook
        await bot.say(M, "Ping {{ name }}", language_code="en")
        ticked = await bot.press(M, "▫️ Everyone (2)")
        assert "Will receive: 2" in ticked.text  # a webhook reaches every kind
        assert (await stored(bot, "Hook")).channel is Channel.webhook


async def test_a_managers_mailings_browsed_previewed_edited_scheduled_and_made_in_the_dialog(
    staff: BotHarness,
) -> None:
    bot = staff
    async with bot.app.db.uow_factory() as uow:
        await uow.mailings.add(Mailing(owner_id=M, name="Draft A", channel=Channel.telegram))
        await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Planned",
                channel=Channel.telegram,
                status=MailingStatus.scheduled,
            )
        )
        sent = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Sent once",
                channel=Channel.telegram,
                status=MailingStatus.completed,
            )
        )
        assert sent.id is not None
        from datetime import UTC, datetime

        from domain.runs import MailingRun

        await uow.runs.add(MailingRun(mailing_id=sent.id, scheduled_for=datetime.now(UTC)))
        await uow.commit()
    index = await bot.say(M, "/mailings", language_code="en")
    assert len([b for b in index.buttons if b[:1] in "📝🕐✅"]) == 3
    filtered = await bot.press(M, "Scheduled", message_id=index.message_id)
    assert [b for b in filtered.buttons if b.startswith("🕐")] == ["🕐 Planned"]
    assert "📝 Draft A" not in filtered.buttons
    every = await bot.press(M, "All", message_id=filtered.message_id)
    await bot.press(M, "✅ Sent once", message_id=every.message_id)
    await bot.press(M, "🗑 Delete")
    archived = await bot.press(M, "🗑 Yes, delete")
    assert archived.text.startswith("The mailing is archived")
    mine = await bot.say(M, "/mailings", language_code="en")
    assert not any("Sent once" in b for b in mine.buttons)
    admin = await bot.say(ADMIN, "/mailings", language_code="en")
    assert "🗄 Sent once · User" in admin.buttons  # with its author

    # preview warns about length placeholders and suppression
    list_id = await make_list(bot, "Preview readers", [7101, 7102])
    async with bot.app.db.uow_factory() as uow:
        gone = await uow.addresses.find(AddressKind.telegram, "7102")
        assert gone is not None
        from datetime import UTC, datetime

        gone.unsubscribed_at = datetime.now(UTC)
        await uow.addresses.update(gone)
        m = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Long",
                channel=Channel.telegram,
                body="Hi {{ city }} " + "x" * 5000,
                list_ids=[list_id],
            )
        )
        await uow.commit()
    menu = await bot.say(M, "/help", language_code="en")
    mark = bot.api.mark(M)
    bot.api.press_data(M, f"m:preview:{m.id}:0:", menu.message_id)
    report = await bot.api.wait_for_message(M, since=mark, contains="Preview: Long")
    assert "longer than Telegram allows" in report.text
    assert "1 recipient has no city" in report.text
    assert "1 address unsubscribed or refused" in report.text
    assert "Cannot be launched" in report.text and "🚀 Launch" not in report.buttons

    # the card edits duplicates and deletes and refuses what does not fit
    list_id = await make_list(bot, "Card readers", [7001])
    second = await make_list(bot, "More", [7002, 7003])
    async with bot.app.db.uow_factory() as uow:
        await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Weekly",
                channel=Channel.telegram,
                body="Old text",
                list_ids=[list_id],
            )
        )
        await uow.commit()
    index = await bot.say(M, "/mailings", language_code="en")
    card = await bot.press(M, "📝 Weekly", message_id=index.message_id)
    assert "Lists: Card readers" in card.text
    await bot.press(M, "✏️ Edit")
    await bot.press(M, "Text and attachment")
    saved = await bot.say(M, "New text", language_code="en")
    assert "Saved." in saved.text
    await bot.press(M, "✏️ Edit", message_id=saved.message_id)
    await bot.press(M, "Lists")
    await bot.press(M, "▫️ More (2)")
    card = await bot.press(M, "Next ➡️")
    assert "Lists: Card readers, More" in card.text
    mailing = await stored(bot, "Weekly")
    assert mailing.body == "New text" and sorted(mailing.list_ids) == sorted([list_id, second])
    copy = await bot.press(M, "📑 Duplicate", message_id=card.message_id)
    assert "A copy is made" in copy.text and "Weekly (copy)" in copy.text
    await bot.press(M, "🗑 Delete", message_id=copy.message_id)
    gone = await bot.press(M, "🗑 Yes, delete")
    assert gone.text == "The mailing is deleted."
    async with bot.app.db.uow_factory() as uow:
        left = await uow.mailings.search(owner_id=M, status=None, page=0, size=50)
    assert [m.name for m in left.items if m.name.startswith("Weekly")] == ["Weekly"]
    # A Russian-speaking manager's copies are named in Russian.
    menu = await bot.say(M, "/help", language_code="ru")
    for _ in range(2):
        mark = bot.api.mark(M)
        bot.api.press_data(M, f"m:dup:{mailing.id}:0:", menu.message_id)  # 📑 Дублировать
        await bot.api.wait_for_message(M, since=mark, contains="Создана копия")
    await stored(bot, "Weekly (копия)")
    await stored(bot, "Weekly (копия 2)")

    # a running mailing explains why it cannot be edited
    async with bot.app.db.uow_factory() as uow:
        m = await uow.mailings.add(
            Mailing(
                owner_id=M,
                name="Live",
                channel=Channel.telegram,
                body="x",
                status=MailingStatus.running,
            )
        )
        await uow.commit()
    menu = await bot.say(M, "/help", language_code="en")
    answer = await bot.alert(M, f"md:content:edit:{m.id}", menu.message_id)
    assert "cannot be edited" in answer["text"]

    # forged and out of step buttons are outdated and change nothing
    # Callback data no handler accepts (an unknown action, a dialog button from another
    # step than the one the dialog is at, a value that is not an id) get the outdated alert.
    async with bot.app.db.uow_factory() as uow:
        m = await uow.mailings.add(Mailing(owner_id=M, name="Kept", channel=Channel.telegram))
        await uow.commit()
    menu = await bot.say(M, "/help", language_code="en")
    forged = [
        f"m:explode:{m.id}:0:",  # no such action
        f"m:launch:{m.id}:zero:",  # a field that does not parse
        "md:schedule:confirm:",  # the dialog is not at the schedule step
        "md:channel:pick:email",
        "md:content:edit:abc",  # not a mailing id
    ]
    for data in forged:
        answer = await bot.alert(M, data, menu.message_id)
        assert OUTDATED in answer["text"] and answer.get("show_alert"), data
    async with bot.app.db.uow_factory() as uow:
        still = await uow.mailings.get(m.id or 0)
    assert still is not None and still.status is MailingStatus.draft and not still.body

    # schedule once and recurring are checked and a failed check keeps a draft
    # A time or a confirmed recurrence schedules the mailing there and then: no second
    # press on the card to forget; the card tells the recurrence in words.
    await make_list(bot, "Timed readers", [7001])
    await at_a_set_time(bot, "Timed", "▫️ Timed readers (1)")
    past = await bot.say(M, "01.01.2020 10:00", language_code="en")
    assert "has passed" in past.text
    nonsense = await bot.say(M, "31.02.2030 10:00", language_code="en")
    assert "31.02" in nonsense.text
    done = await type_the_time(bot, "Timed", "01.12.2030 10:00", "Scheduled for")
    assert "01.12.2030 10:00" in done.text
    mailing = await stored(bot, "Timed")
    assert mailing.status is MailingStatus.scheduled
    assert mailing.schedule.kind is ScheduleKind.once
    assert mailing.schedule.run_at is not None and mailing.schedule.run_at.hour == 7  # Moscow
    # recurring, through the card's edit menu
    assert mailing.id is not None
    index = await bot.say(M, "/mailings", language_code="en")
    await bot.press(M, "🕐 Timed", message_id=index.message_id)
    await bot.press(M, "✏️ Edit")
    await bot.press(M, "Schedule")
    await bot.press(M, "🔁 Recurring")
    await bot.press(M, "A cron expression")
    too_often = await bot.say(M, "*/5 * * * *", language_code="en")
    assert "60" in too_often.text or "often" in too_often.text.lower()
    invalid = await bot.say(M, "61 25 * * *", language_code="en")
    assert "0 10 * * 1-5" in invalid.text
    check = await bot.say(M, "0 10 * * 1-5", language_code="en")
    assert check.text.count("• ") == 3 and "every weekday at 10:00" in check.text
    await bot.press(M, "⏱ End after N runs")
    assert "from 1 to 10000" in (await bot.say(M, "zero", language_code="en")).text
    ends = await bot.say(M, "5", language_code="en")
    assert "every weekday at 10:00, 5 times" in ends.text and ends.text.count("• ") == 3
    mark = bot.api.mark(M)
    bot.api.press(M, "✅ Confirm")
    told = await bot.api.wait_for_message(M, since=mark, contains="Scheduled:")
    assert "every weekday at 10:00, 5 times" in told.text and "First launch" in told.text
    card = await bot.api.wait_for_message(M, since=mark, contains="Saved.")
    assert "Schedule: every weekday at 10:00, 5 times" in card.text
    assert "🕐 Scheduled for" in card.text and "1-5" not in card.text
    again = await stored(bot, "Timed")
    assert again.status is MailingStatus.scheduled and again.schedule.max_runs == 5
    # "by hand" takes it off the timer
    await bot.press(M, "✏️ Edit", message_id=card.message_id)
    await bot.press(M, "Schedule")
    manual = await bot.press(M, "▶️ I will launch it by hand")
    assert "launched by hand" in manual.text and "📝 draft" in manual.text
    assert (await stored(bot, "Timed")).status is MailingStatus.draft

    # a schedule that a check stops says why and stays a draft
    await make_list(bot, "Empty", [])
    await at_a_set_time(bot, "Nobody", "▫️ Empty (0)")
    refused = await type_the_time(bot, "Nobody", "01.12.2030 10:00", "Not scheduled")
    assert "the chosen lists have no recipients for this channel" in refused.text
    mailing = await stored(bot, "Nobody")
    assert mailing.status is MailingStatus.draft and mailing.schedule.kind is ScheduleKind.once

    # the new mailing dialog takes each kind of content and checks each step
    await make_list(bot, "Readers", [7001, 7002])
    await start_dialog(bot, "Black Friday")
    content = await bot.press(M, "✈️ Telegram")
    assert "Send the message" in content.text
    mark = bot.api.mark(M)
    bot.api.send_text(
        M,
        "Hello {{ name }}! Sale today",
        language_code="en",
        entities=[
            {"type": "bold", "offset": 0, "length": 5},
            {"type": "spoiler", "offset": 18, "length": 5},
        ],
    )
    options = await bot.api.wait_for_message(M, since=mark)
    assert "Telegram message options" in options.text
    await bot.press(M, "Silent: off")
    await bot.press(M, "🔗 URL buttons (0)")
    saved = await bot.say(
        M, "Shop - https://shop.example.com | Help - https://t.me/help", language_code="en"
    )
    assert saved.text == "Buttons saved: 2."
    tracking = await bot.press(M, "Next ➡️")
    assert "Tracking and UTM tags" in tracking.text
    lists_step = await bot.press(M, "Next ➡️")
    assert "Who should get it?" in lists_step.text
    ticked = await bot.press(M, "▫️ Readers (2)")
    assert "Will receive: 2" in ticked.text and "✅ Readers (2)" in ticked.buttons
    schedule = await bot.press(M, "Next ➡️")
    assert "When should it go?" in schedule.text
    mark = bot.api.mark(M)
    bot.api.press(M, "▶️ I will launch it by hand")
    report = await bot.api.wait_for_message(M, since=mark, contains="Preview: Black Friday")
    sample = next(m for m in bot.api.messages(M) if m.seq > mark and "Hello" in m.text)
    assert sample.raw_text == "<b>Hello</b> R7001! <tg-spoiler>Sale </tg-spoiler>today"
    assert sample.buttons == ["Shop", "Help"] and sample.options["disable_notification"]
    assert "Recipients: 2" in report.text and "ready for launch" in report.text
    mailing = await stored(bot, "Black Friday")
    assert mailing.channel is Channel.telegram and mailing.status is MailingStatus.draft
    assert mailing.body == "<b>Hello</b> {{ name }}! <tg-spoiler>Sale </tg-spoiler>today"
    assert mailing.options["silent"] is True and len(mailing.options["buttons"][0]) == 2
    assert mailing.schedule.kind is ScheduleKind.none and len(mailing.list_ids) == 1
    alert_mark = len(bot.api.callback_answers)
    bot.api.press(M, "🚀 Launch")
    answer = await bot.api.wait_for_callback_answer(since=alert_mark)
    assert answer["text"] == "Launched!"
    summary = await bot.api.wait_for_message(M, contains="Summary", timeout=15)
    assert "delivered: 2" in summary.text
    assert [m.raw_text for m in bot.api.messages(7002)] == [
        "<b>Hello</b> R7002! <tg-spoiler>Sale </tg-spoiler>today"
    ]

    # a photo becomes the content with its caption
    await start_dialog(bot, "Photo news")
    await bot.press(M, "✈️ Telegram")
    mark = bot.api.mark(M)
    bot.api.send_photo(M, b"\x89PNG fake", caption="Look!", language_code="en")
    await bot.api.wait_for_message(M, since=mark, contains="Telegram message options")
    mailing = await stored(bot, "Photo news")
    assert mailing.media is not None and mailing.media["type"] == "photo"
    assert mailing.body == "Look!"

    # unconfigured channels are refused at the step
    await start_dialog(bot, "Mail")
    reply = await bot.press(M, "✉️ Email (SMTP) (not configured)")
    assert "is not configured" in reply.text
    assert (await stored(bot, "Mail")).channel is Channel.telegram  # unchanged default

    # validation happens at each step
    ask = await bot.say(M, "/new", language_code="en")
    assert "called" in ask.text
    assert "1 to 100 characters" in (await bot.say(M, "y" * 101, language_code="en")).text
    await bot.say(M, "Promo", language_code="en")
    await bot.say(M, "/new", language_code="en")
    taken = await bot.say(M, "Promo", language_code="en")
    assert "already have a mailing “Promo”" in taken.text
    await bot.say(M, "Promo 2", language_code="en")
    await bot.press(M, "✈️ Telegram")
    await bot.say(M, "Some text", language_code="en")
    await bot.press(M, "🔗 URL buttons (0)")
    bad = await bot.say(M, "just a label", language_code="en")
    assert "Line 1: write it as" in bad.text

    # an empty message is asked again
    await start_dialog(bot, "Empty")
    await bot.press(M, "✈️ Telegram")
    again = await bot.say(M, "   ", language_code="en")
    assert "The message is empty" in again.text
    assert (await stored(bot, "Empty")).body == ""

    # a button of an earlier step is outdated once the dialog moved on
    await start_dialog(bot, "Steps")
    channel_question = bot.api.messages(M)[-1]
    await bot.press(M, "✈️ Telegram")  # the dialog moves on to the content
    answer = await bot.alert(M, "md:channel:pick:email", channel_question.message_id)
    assert OUTDATED in answer["text"]
    assert (await stored(bot, "Steps")).channel is Channel.telegram

    await permission_matrix(bot)


async def test_dialog_state_survives_a_restart_with_redis(
    fake_api: FakeBotAPI, migrated_pg_url: str, redis_prefix: str
) -> None:
    # the tests' Redis database under a key prefix of its own: parallel runs never meet
    redis = {"redis_url": REDIS_URL, "redis_key_prefix": redis_prefix}
    async with running_bot(fake_api, migrated_pg_url, **redis) as bot:
        await grant(bot, M)
        await start_dialog(bot, "Survivor")
    async with running_bot(fake_api, migrated_pg_url, **redis) as bot:
        # the old message's button still works: the dialog state lived in Redis
        content = await bot.press(M, "✈️ Telegram")
        assert "Send the message" in content.text
        await bot.say(M, "Still here", language_code="en")
        assert (await stored(bot, "Survivor")).body == "Still here"


OUTDATED = "This button is outdated"
