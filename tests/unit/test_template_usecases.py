"""Template use cases on the shared in-memory unit of work (``tests/fakes/memory_uow.py``)."""

from __future__ import annotations

import pytest

from domain.errors import AccessDenied, Conflict, DomainError, InvalidInput, NotFound
from domain.usecases import templates
from domain.users import Role, User
from tests.fakes.memory_uow import MemoryDatabase

AUTHOR, COLLEAGUE, ADMIN, STRANGER = 1, 2, 3, 4


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase(
        users=[
            User(AUTHOR, role=Role.manager),
            User(COLLEAGUE, role=Role.manager),
            User(ADMIN, role=Role.admin),
            User(STRANGER),
        ]
    )


async def test_a_name_is_tidied_and_taken_regardless_of_case(db: MemoryDatabase) -> None:
    made = await templates.create(db.uow_factory, AUTHOR, "  Spring \n sale ", None, "Hi")
    assert (made.name, made.subject, made.owner_id) == ("Spring sale", None, AUTHOR)
    with pytest.raises(Conflict) as caught:
        await templates.create(db.uow_factory, COLLEAGUE, "SPRING SALE", None, "Hi")
    assert (caught.value.key, caught.value.params) == (
        "templates-name-taken",
        {"name": "SPRING SALE"},
    )
    with pytest.raises(InvalidInput) as caught:
        await templates.check_name(db.uow_factory, AUTHOR, "x" * 101)
    assert (caught.value.key, caught.value.params) == ("templates-name-invalid", {"max": 100})
    assert [e.action for e in db.audit] == ["template.create"]


@pytest.mark.parametrize(
    ("body", "key", "params"),
    [
        ("<b>unclosed", "content-html-unbalanced", {"detail": "b"}),
        ("<div>x</div>", "content-html-unknown-tag", {"detail": "div"}),
        ("<b> </b>\n", "templates-body-empty", {}),
        ("😀" * 2049, "templates-body-too-long", {"limit": 4096, "length": 4098}),
    ],
)
def test_a_body_must_be_valid_html_with_text_that_fits_one_message(
    body: str, key: str, params: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        templates.clean_body(body)
    assert (caught.value.key, caught.value.params) == (key, params)


def test_a_body_that_fits_is_kept_byte_for_byte() -> None:
    body = '<b>Hi</b> {{ name }} &lt;3 <a href="https://example.com">site</a>\n' + "x" * 4000
    assert templates.clean_body(body) == body


async def test_only_the_author_or_an_admin_changes_a_template(db: MemoryDatabase) -> None:
    made = await templates.create(db.uow_factory, AUTHOR, "Mine", "Subject", "Body")
    assert made.id is not None
    for call in (
        templates.update(db.uow_factory, COLLEAGUE, made.id, name="Theirs"),
        templates.delete(db.uow_factory, COLLEAGUE, made.id),
        templates.get(db.uow_factory, COLLEAGUE, made.id, to_change=True),
    ):
        with pytest.raises(AccessDenied) as caught:
            await call
        assert caught.value.key == "templates-not-owner"
    assert (await templates.get(db.uow_factory, COLLEAGUE, made.id)).name == "Mine"
    changed = await templates.update(db.uow_factory, ADMIN, made.id, subject=None, body="New")
    assert (changed.subject, changed.body) == (None, "New")
    assert db.audit[-1].details == {"fields": ["body", "subject"]}
    assert await templates.delete(db.uow_factory, AUTHOR, made.id) == "Mine"
    assert db.templates == {}


async def test_renaming_checks_other_names_but_not_its_own(db: MemoryDatabase) -> None:
    first = await templates.create(db.uow_factory, AUTHOR, "First", None, "1")
    await templates.create(db.uow_factory, AUTHOR, "Second", None, "2")
    assert first.id is not None
    with pytest.raises(Conflict):
        await templates.update(db.uow_factory, AUTHOR, first.id, name="second")
    renamed = await templates.update(db.uow_factory, AUTHOR, first.id, name="FIRST")
    assert renamed.name == "FIRST"
    assert db.audit[-1].details == {"fields": ["name"], "from": "First", "to": "FIRST"}


async def test_an_update_that_changes_nothing_writes_nothing(db: MemoryDatabase) -> None:
    made = await templates.create(db.uow_factory, AUTHOR, "Same", "Subj", "Body")
    assert made.id is not None
    await templates.update(db.uow_factory, AUTHOR, made.id, name="Same", body="Body")
    assert [e.action for e in db.audit] == ["template.create"]
    with pytest.raises(ValueError, match="owner_id"):
        await templates.update(db.uow_factory, AUTHOR, made.id, owner_id="2")


@pytest.mark.parametrize(
    ("actor", "error", "key"),
    [(STRANGER, AccessDenied, "error-access-denied"), (AUTHOR, NotFound, "templates-not-found")],
)
async def test_strangers_and_missing_templates_are_refused(
    db: MemoryDatabase, actor: int, error: type[DomainError], key: str
) -> None:
    with pytest.raises(error) as caught:
        await templates.get(db.uow_factory, actor, 42)
    assert caught.value.key == key
    with pytest.raises(error):
        await templates.delete(db.uow_factory, actor, 42)


def test_a_subject_is_one_line_of_at_most_250_characters_and_may_be_none() -> None:
    assert templates.clean_subject("  Prices \n are  falling ") == "Prices are falling"
    assert templates.clean_subject("s" * 250) == "s" * 250
    assert templates.clean_subject("   ") is None and templates.clean_subject(None) is None
    with pytest.raises(InvalidInput) as caught:
        templates.clean_subject("s" * 251)
    assert (caught.value.key, caught.value.params) == ("templates-subject-invalid", {"max": 250})
