"""Mailing use cases (``domain.usecases.mailings``) on the in-memory unit of work: who may
see and change what, each field's check, and that a refused change stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import AccessDenied, Conflict, IllegalTransition, InvalidInput, NotFound
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.recipients import RecipientList
from domain.runs import MailingRun
from domain.templates import Template
from domain.usecases import mailings
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

OWNER, COLLEAGUE, ADMIN, STRANGER = 1, 2, 3, 4
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[
            User(OWNER, role=Role.manager),
            User(COLLEAGUE, role=Role.manager),
            User(ADMIN, role=Role.admin),
            User(STRANGER),
        ]
    )


async def draft(db: MemoryDatabase, name: str = "News", owner: int = OWNER) -> Mailing:
    return await mailings.create_draft(db.uow_factory, owner, name, "Europe/Moscow")


async def test_the_first_step_stores_a_draft_of_the_caller_and_audits_it(
    db: MemoryDatabase,
) -> None:
    made = await draft(db, "  Winter   sale ")
    stored = db.mailings[made.id or 0]
    assert (stored.name, stored.owner_id, stored.status) == ("Winter sale", OWNER, "draft")
    assert stored.schedule.timezone == "Europe/Moscow"
    assert [(e.action, e.actor_id) for e in db.audit] == [("mailing.create", OWNER)]


async def test_someone_without_a_role_stores_nothing(db: MemoryDatabase) -> None:
    with pytest.raises(AccessDenied):
        await draft(db, owner=STRANGER)
    assert db.mailings == {} and db.audit == [] and db.committed == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * (mailings.NAME_MAX + 1)])
async def test_a_name_must_be_one_to_a_hundred_characters(db: MemoryDatabase, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await draft(db, name)
    assert refused.value.key == "mailings-name-invalid"


async def test_names_are_unique_per_owner_whatever_the_case(db: MemoryDatabase) -> None:
    await draft(db, "News")
    with pytest.raises(Conflict):
        await draft(db, "NEWS")
    await draft(db, "News", owner=COLLEAGUE)  # another manager's namespace
    assert len(db.mailings) == 2


async def test_a_managers_view_of_anothers_mailing_is_a_missing_one(db: MemoryDatabase) -> None:
    mine = await draft(db)
    for act in (
        mailings.get(db.uow_factory, COLLEAGUE, mine.id or 0),
        mailings.update(db.uow_factory, COLLEAGUE, mine.id or 0, name="Mine now"),
        mailings.delete(db.uow_factory, COLLEAGUE, mine.id or 0),
        mailings.duplicate(db.uow_factory, COLLEAGUE, mine.id or 0),
    ):
        with pytest.raises(NotFound) as refused:
            await act
        assert refused.value.key == "mailings-not-found"  # the same as a forged id
    with pytest.raises(NotFound):
        await mailings.get(db.uow_factory, COLLEAGUE, 999)
    assert db.mailings[mine.id or 0].name == "News"
    assert (await mailings.get(db.uow_factory, ADMIN, mine.id or 0)).name == "News"


async def test_a_stranger_or_a_revoked_manager_may_do_nothing_with_a_mailing(
    db: MemoryDatabase,
) -> None:
    mine = await draft(db)
    db.users[COLLEAGUE].is_active = False  # revoked: bites at once
    for actor in (STRANGER, COLLEAGUE, 999):
        for act in (
            mailings.get(db.uow_factory, actor, mine.id or 0),
            mailings.update(db.uow_factory, actor, mine.id or 0, name="Theirs"),
            mailings.delete(db.uow_factory, actor, mine.id or 0),
            mailings.duplicate(db.uow_factory, actor, mine.id or 0),
            mailings.card(db.uow_factory, actor, mine.id or 0),
        ):
            with pytest.raises(AccessDenied):
                await act
    assert list(db.mailings) == [mine.id] and db.mailings[mine.id or 0].name == "News"
    assert [e.action for e in db.audit] == ["mailing.create"]


async def test_each_field_is_checked_and_a_refused_change_changes_nothing(
    db: MemoryDatabase,
) -> None:
    mailing_id = (await draft(db)).id or 0
    change = mailings.update
    with pytest.raises(InvalidInput) as empty:
        await change(db.uow_factory, OWNER, mailing_id, body="  ", name="Renamed")
    assert empty.value.key == "mailings-body-empty"
    with pytest.raises(NotFound) as no_list:
        await change(db.uow_factory, OWNER, mailing_id, list_ids=[42])
    assert no_list.value.key == "lists-not-found"
    with pytest.raises(NotFound) as no_template:
        await change(db.uow_factory, OWNER, mailing_id, template_id=42)
    assert no_template.value.key == "templates-not-found"
    with pytest.raises(InvalidInput):
        await change(db.uow_factory, OWNER, mailing_id, subject=" ")
    with pytest.raises(ValueError, match="not editable"):
        await change(db.uow_factory, OWNER, mailing_id, status=MailingStatus.running)
    stored = db.mailings[mailing_id]
    assert (stored.name, stored.body, stored.list_ids, stored.subject) == ("News", "", [], None)


async def test_an_edit_stores_cleaned_values_and_keeps_list_order_without_repeats(
    db: MemoryDatabase,
) -> None:
    mailing_id = (await draft(db)).id or 0
    async with db.uow_factory() as uow:
        a = await uow.lists.add(RecipientList("A", OWNER))
        b = await uow.lists.add(RecipientList("B", OWNER))
        template = await uow.templates.add(Template("T", OWNER, "Hello"))
        await uow.commit()
    await mailings.update(
        db.uow_factory,
        OWNER,
        mailing_id,
        channel=Channel.email,
        subject="  Big   news ",
        list_ids=[b.id, a.id, b.id],
        template_id=template.id,
    )
    stored = db.mailings[mailing_id]
    assert stored.subject == "Big news" and stored.list_ids == [b.id, a.id]
    assert stored.template_id == template.id and stored.channel is Channel.email
    # a photo alone is a message: an empty text is fine with media
    await mailings.update(db.uow_factory, OWNER, mailing_id, media={"photo": "x"}, body="")
    assert db.mailings[mailing_id].media == {"photo": "x"}


async def test_a_mailing_made_whole_is_stored_with_its_fields_in_one_go(
    db: MemoryDatabase,
) -> None:
    """The API's ``POST /mailings``: the draft and its fields in one transaction."""
    async with db.uow_factory() as uow:
        a = await uow.lists.add(RecipientList("A", OWNER))
        await uow.commit()
    committed = db.committed
    made = await mailings.create_draft(
        db.uow_factory,
        OWNER,
        " Big  news ",
        "UTC",
        channel=Channel.email,
        subject="  Hello  there ",
        body="Hi {{ name }}",
        list_ids=[a.id, a.id],
        options={"buttons": [[{"text": "Shop", "url": "HTTPS://shop.example"}]]},
    )
    stored = db.mailings[made.id or 0]
    assert (stored.name, stored.channel, stored.subject, stored.body, stored.list_ids) == (
        "Big news",
        Channel.email,
        "Hello there",
        "Hi {{ name }}",
        [a.id],
    )
    assert stored.options["buttons"] == [[{"text": "Shop", "url": "https://shop.example"}]]
    assert db.committed == committed + 1  # one transaction, nothing to undo
    assert [e.action for e in db.audit] == ["mailing.create"]


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"list_ids": [42]}, NotFound),  # lists-not-found
        ({"body": "  "}, InvalidInput),  # mailings-body-empty
        ({"subject": " "}, InvalidInput),
        ({"template_id": 42}, NotFound),
        ({"options": {"buttons": [[{"text": "x", "url": "ftp://x"}]]}}, InvalidInput),
        ({"status": MailingStatus.running}, ValueError),  # not a field one may set
    ],
)
async def test_a_mailing_made_whole_with_a_refused_field_leaves_nothing(
    db: MemoryDatabase, changes: dict[str, object], refusal: type[Exception]
) -> None:
    """Nothing half-made: no draft, no audit row (the route used to make the draft, then
    delete it again when a field was refused)."""
    committed = db.committed
    with pytest.raises(refusal):
        fields = {"body": "Hi", **changes}
        await mailings.create_draft(db.uow_factory, OWNER, "News", "UTC", **fields)
    assert db.mailings == {} and db.audit == [] and db.committed == committed
    # The name is still free: the same mailing with good fields is made.
    made = await mailings.create_draft(db.uow_factory, OWNER, "News", "UTC", body="Hi")
    assert db.mailings[made.id or 0].body == "Hi"


async def test_a_mailing_made_whole_checks_the_caller_and_the_name_first(
    db: MemoryDatabase,
) -> None:
    await draft(db, "News")
    with pytest.raises(Conflict):
        await mailings.create_draft(db.uow_factory, OWNER, "news", "UTC", body="Hi")
    with pytest.raises(AccessDenied):
        await mailings.create_draft(db.uow_factory, STRANGER, "Mine", "UTC", body="Hi")
    assert len(db.mailings) == 1 and len(db.audit) == 1


async def test_a_running_mailing_is_not_editable(db: MemoryDatabase) -> None:
    mailing = await draft(db)
    stored = db.mailings[mailing.id or 0]
    stored.status = MailingStatus.running
    with pytest.raises(IllegalTransition) as refused:
        await mailings.update(db.uow_factory, OWNER, mailing.id or 0, body="Late")
    assert refused.value.key == "mailings-not-editable"


async def test_a_copy_is_a_fresh_draft_of_the_caller_with_a_free_name(db: MemoryDatabase) -> None:
    source = await draft(db)
    stored = db.mailings[source.id or 0]
    stored.status = MailingStatus.scheduled
    stored.schedule = Schedule(ScheduleKind.once, run_at=NOW, timezone="Asia/Tokyo")
    stored.body, stored.options = "Hello", {"preview": False}

    first = await mailings.duplicate(db.uow_factory, OWNER, source.id or 0)
    second = await mailings.duplicate(db.uow_factory, OWNER, source.id or 0)
    by_admin = await mailings.duplicate(db.uow_factory, ADMIN, source.id or 0)

    assert (first.name, second.name, by_admin.name) == (
        "News (copy)",
        "News (copy 2)",
        "News (copy)",
    )
    assert by_admin.owner_id == ADMIN
    for copy in (first, second):
        kept = db.mailings[copy.id or 0]
        assert kept.status is MailingStatus.draft and kept.body == "Hello"
        assert kept.schedule == Schedule(timezone="Asia/Tokyo")  # never scheduled
        assert kept.options == {"preview": False}
    assert db.mailings[source.id or 0].status is MailingStatus.scheduled  # untouched


async def test_delete_removes_a_mailing_that_never_ran(db: MemoryDatabase) -> None:
    mailing = await draft(db)
    assert await mailings.delete(db.uow_factory, OWNER, mailing.id or 0) is False
    assert db.mailings == {}
    assert db.audit[-1].action == "mailing.delete"


async def test_delete_archives_a_mailing_with_runs_and_cancels_its_schedule(
    db: MemoryDatabase,
) -> None:
    mailing = await draft(db)
    db.mailings[mailing.id or 0].status = MailingStatus.scheduled
    async with db.uow_factory() as uow:
        await uow.runs.add(MailingRun(mailing.id or 0, NOW))
        await uow.commit()
    archived = await mailings.delete(db.uow_factory, OWNER, mailing.id or 0, FixedClock())
    assert archived is True
    kept = db.mailings[mailing.id or 0]
    assert kept.archived_at == NOW and kept.status is MailingStatus.cancelled
    # gone for its manager, still there for an admin (statistics keep it)
    with pytest.raises(NotFound):
        await mailings.get(db.uow_factory, OWNER, mailing.id or 0)
    assert (await mailings.get(db.uow_factory, ADMIN, mailing.id or 0)).id == mailing.id


@pytest.mark.parametrize("status", [MailingStatus.running, MailingStatus.paused])
async def test_an_active_mailing_must_be_cancelled_before_deletion(
    db: MemoryDatabase, status: MailingStatus
) -> None:
    mailing = await draft(db)
    db.mailings[mailing.id or 0].status = status
    with pytest.raises(IllegalTransition) as refused:
        await mailings.delete(db.uow_factory, OWNER, mailing.id or 0)
    assert refused.value.key == "mailings-delete-active"
    assert mailing.id in db.mailings


async def test_browse_shows_a_manager_their_own_and_an_admin_everything(
    db: MemoryDatabase,
) -> None:
    mine = [await draft(db, f"Mine {n}") for n in range(10)]
    theirs = await draft(db, "Theirs", owner=COLLEAGUE)
    db.mailings[mine[0].id or 0].archived_at = NOW

    page = await mailings.browse(db.uow_factory, OWNER, 0)
    assert page.total == 9 and len(page.items) == mailings.PAGE_SIZE
    assert page.items[0].name == "Mine 9"  # newest first
    assert {m.owner_id for m in page.items} == {OWNER}
    everything = await mailings.browse(db.uow_factory, ADMIN, 0)
    assert everything.total == 11 and everything.items[0].id == theirs.id
    drafts = await mailings.browse(db.uow_factory, COLLEAGUE, -3, MailingStatus.draft)
    assert [m.name for m in drafts.items] == ["Theirs"] and drafts.page == 0


async def test_the_card_names_the_lists_and_the_last_run(db: MemoryDatabase) -> None:
    mailing = await draft(db)
    async with db.uow_factory() as uow:
        rlist = await uow.lists.add(RecipientList("Clients", OWNER))
        await uow.commit()
    await mailings.update(db.uow_factory, OWNER, mailing.id or 0, list_ids=[rlist.id])
    assert (await mailings.card(db.uow_factory, OWNER, mailing.id or 0)).last_run is None
    async with db.uow_factory() as uow:
        await uow.runs.add(MailingRun(mailing.id or 0, NOW))
        await uow.commit()
    card = await mailings.card(db.uow_factory, OWNER, mailing.id or 0)
    assert card.list_names == ["Clients"] and card.last_run is not None
    assert card.last_run.scheduled_for == NOW


def test_email_channels_need_a_subject() -> None:
    assert {c for c in Channel if mailings.needs_subject(c)} == {Channel.email, Channel.sendsay}
