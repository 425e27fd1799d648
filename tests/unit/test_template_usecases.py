"""Template use cases against an in-memory unit of work that rolls back unless committed."""

from __future__ import annotations

from dataclasses import replace
from types import TracebackType
from typing import Any, Self

import pytest

from domain.audit import AuditEntry
from domain.errors import AccessDenied, Conflict, DomainError, InvalidInput, NotFound
from domain.templates import Template
from domain.usecases import templates
from domain.users import Role, User

AUTHOR, COLLEAGUE, ADMIN, STRANGER = 1, 2, 3, 4


class FakeTemplates:
    def __init__(self) -> None:
        self.rows: dict[int, Template] = {}

    async def get(self, template_id: int) -> Template | None:
        row = self.rows.get(template_id)
        return replace(row) if row else None

    async def add(self, template: Template) -> Template:
        template.id = max(self.rows, default=0) + 1
        self.rows[template.id] = replace(template)
        return template

    async def update(self, template: Template) -> None:
        assert template.id in self.rows
        self.rows[template.id] = replace(template)

    async def delete(self, template_id: int) -> None:
        self.rows.pop(template_id, None)

    async def all(self) -> list[Template]:
        return [replace(row) for row in self.rows.values()]


class FakeUsers:
    def __init__(self, *users: User) -> None:
        self.users = {u.telegram_id: u for u in users}

    async def get(self, telegram_id: int) -> User | None:
        return self.users.get(telegram_id)


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


class FakeUow:
    def __init__(self) -> None:
        self.users = FakeUsers(
            User(AUTHOR, role=Role.manager),
            User(COLLEAGUE, role=Role.manager),
            User(ADMIN, role=Role.admin),
            User(STRANGER),
        )
        self.templates, self.audit = FakeTemplates(), FakeAudit()
        self._saved: tuple[dict[int, Template], list[AuditEntry]] = ({}, [])

    async def __aenter__(self) -> Self:
        self._saved = (dict(self.templates.rows), list(self.audit.entries))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.templates.rows, self.audit.entries = self._saved  # committed work was re-saved

    async def commit(self) -> None:
        self._saved = (dict(self.templates.rows), list(self.audit.entries))


@pytest.fixture
def uow() -> FakeUow:
    return FakeUow()


def factory(uow: FakeUow) -> Any:
    return lambda: uow


async def test_a_name_is_tidied_and_taken_regardless_of_case(uow: FakeUow) -> None:
    made = await templates.create(factory(uow), AUTHOR, "  Spring \n sale ", None, "Hi")
    assert (made.name, made.subject, made.owner_id) == ("Spring sale", None, AUTHOR)
    with pytest.raises(Conflict) as caught:
        await templates.create(factory(uow), COLLEAGUE, "SPRING SALE", None, "Hi")
    assert (caught.value.key, caught.value.params) == (
        "templates-name-taken",
        {"name": "SPRING SALE"},
    )
    with pytest.raises(InvalidInput) as caught:
        await templates.check_name(factory(uow), AUTHOR, "x" * 101)
    assert (caught.value.key, caught.value.params) == ("templates-name-invalid", {"max": 100})
    assert [e.action for e in uow.audit.entries] == ["template.create"]


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


async def test_only_the_author_or_an_admin_changes_a_template(uow: FakeUow) -> None:
    made = await templates.create(factory(uow), AUTHOR, "Mine", "Subject", "Body")
    assert made.id is not None
    for call in (
        templates.update(factory(uow), COLLEAGUE, made.id, name="Theirs"),
        templates.delete(factory(uow), COLLEAGUE, made.id),
        templates.get(factory(uow), COLLEAGUE, made.id, to_change=True),
    ):
        with pytest.raises(AccessDenied) as caught:
            await call
        assert caught.value.key == "templates-not-owner"
    assert (await templates.get(factory(uow), COLLEAGUE, made.id)).name == "Mine"
    changed = await templates.update(factory(uow), ADMIN, made.id, subject=None, body="New")
    assert (changed.subject, changed.body) == (None, "New")
    assert uow.audit.entries[-1].details == {"fields": ["body", "subject"]}
    assert await templates.delete(factory(uow), AUTHOR, made.id) == "Mine"
    assert uow.templates.rows == {}


async def test_renaming_checks_other_names_but_not_its_own(uow: FakeUow) -> None:
    first = await templates.create(factory(uow), AUTHOR, "First", None, "1")
    await templates.create(factory(uow), AUTHOR, "Second", None, "2")
    assert first.id is not None
    with pytest.raises(Conflict):
        await templates.update(factory(uow), AUTHOR, first.id, name="second")
    renamed = await templates.update(factory(uow), AUTHOR, first.id, name="FIRST")
    assert renamed.name == "FIRST"
    assert uow.audit.entries[-1].details == {"fields": ["name"], "from": "First", "to": "FIRST"}


async def test_an_update_that_changes_nothing_writes_nothing(uow: FakeUow) -> None:
    made = await templates.create(factory(uow), AUTHOR, "Same", "Subj", "Body")
    assert made.id is not None
    await templates.update(factory(uow), AUTHOR, made.id, name="Same", body="Body")
    assert [e.action for e in uow.audit.entries] == ["template.create"]
    with pytest.raises(ValueError, match="owner_id"):
        await templates.update(factory(uow), AUTHOR, made.id, owner_id="2")


@pytest.mark.parametrize(
    ("actor", "error", "key"),
    [(STRANGER, AccessDenied, "error-access-denied"), (AUTHOR, NotFound, "templates-not-found")],
)
async def test_strangers_and_missing_templates_are_refused(
    uow: FakeUow, actor: int, error: type[DomainError], key: str
) -> None:
    with pytest.raises(error) as caught:
        await templates.get(factory(uow), actor, 42)
    assert caught.value.key == key
    with pytest.raises(error):
        await templates.delete(factory(uow), actor, 42)
