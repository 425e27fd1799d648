"""Importing recipients by dropping files into the chat, by link and from Sendsay,
through the fake Bot API, a loopback file server and a fake Sendsay API."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from openpyxl import Workbook

from domain.recipients import AddressKind
from handlers import uploads
from infrastructure.importers.importer import BATCH_ROWS
from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.fakes.bot_api import FakeBotAPI, SentMessage
from tests.fakes.http_files import FileServer
from tests.fakes.sendsay import FakeSendsay

M = 2002  # the manager


async def make_manager(bot: BotHarness) -> None:
    await grant(bot, M)


@pytest.fixture
async def manager(bot: BotHarness) -> BotHarness:
    await make_manager(bot)
    return bot


async def upload_to_new_list(
    bot: BotHarness,
    filename: str,
    content: bytes,
    timeout: float = 5.0,  # noqa: ASYNC109
    user: int = M,
) -> SentMessage:
    """Drop a file into the chat, choose "new list", return the bot's answer."""
    mark = bot.api.mark(user)
    bot.api.send_document(user, filename, content, language_code="en")
    ask = await bot.api.wait_for_message(
        user, since=mark, predicate=lambda m: "Which list" in m.text or "20 MB" in m.text
    )
    if "20 MB" in ask.text:
        return ask
    mark = bot.api.mark(user)
    bot.api.press(user, "➕ New list", message_id=ask.message_id)
    return await bot.api.wait_for_message(
        user,
        since=mark,
        predicate=lambda m: "created" not in m.text and "Importing" not in m.text,
        timeout=timeout,
    )


async def stored_counts(bot: BotHarness) -> tuple[int, int]:
    """(addresses, list members) in the whole database."""
    async with bot.app.db.uow_factory() as uow:
        lists = await uow.lists.all()
        members = sum([(await uow.members.size(r.id)).total for r in lists if r.id])
        first = await uow.addresses.get(1)
    return (0 if first is None else 1), members


async def members_of(bot: BotHarness, name: str) -> list[str]:
    """The addresses in the list ``name``, sorted."""
    async with bot.app.db.uow_factory() as uow:
        found = await uow.lists.find_by_name(name)
        assert found is not None and found.id is not None
        page = await uow.members.members(found.id, 0, 100)
    return sorted(a.value for a in page.items)


def xlsx(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BAD_FILES = [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n\n   \n", "empty"),
    ("garbage.csv", bytes(range(256)) * 40, None),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, None),
    ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", None),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, None),
    ("noaddr.csv", b"name,city\nAnn,Paris\nBob,Rome\n", None),
    (
        "mixed.csv",
        "email,name\na@example.com,Аня\n".encode() + "b@example.com,Боря\n".encode("cp1251"),
        None,
    ),
    ("allbad.csv", b"email\nnope\nstill-nope\n", None),
]


async def test_bad_files_refused_big_rejects_zipped_and_files_of_each_kind_imported(
    manager: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bot for every file (it started one per file)."""
    bot = manager
    # Bad files first (nothing may be stored yet): each from a manager of its own, so
    # what a refused file leaves open is not the next file's dialog.
    for n, (filename, content, word) in enumerate(BAD_FILES):
        user = 2400 + n
        await grant(bot, user)
        reply = await upload_to_new_list(bot, filename, content, user=user)
        assert "Import finished" not in reply.text, filename
        assert reply.text and "Something went wrong" not in reply.text, filename
        if word:
            assert word in reply.text.lower(), filename
        assert await stored_counts(bot) == (0, 0), filename

    # The Bot API takes uploads up to 50 MB (the limit is made small here): a bigger
    # rejected-rows file goes zipped, or, if even that is too big, cut with a note.
    monkeypatch.setattr(uploads, "UPLOAD_LIMIT", 8_000)
    for compressible in (True, False):
        bad = [
            f"not-an-email-{n};{'x' * 60 if compressible else os.urandom(40).hex()}"
            for n in range(300)
        ]
        content = ("email;note\nann@example.com;ok\n" + "\n".join(bad) + "\n").encode()
        mark = bot.api.mark(M)
        summary = await upload_to_new_list(bot, f"many {compressible}.csv", content)
        assert "Invalid: 300" in summary.text
        sent = await bot.api.wait_for_message(
            M, since=mark, predicate=lambda m: m.kind == "document"
        )
        assert sent.file is not None and len(sent.file.content) <= 8_000
        if compressible:
            assert sent.filename == "rejected rows.csv.zip"
            with zipfile.ZipFile(io.BytesIO(sent.file.content)) as archive:
                (inner,) = archive.namelist()
                rows = archive.read(inner).decode("utf-8-sig").splitlines()
            assert len(rows) == 301  # the header and every rejected row
        else:
            assert sent.filename == "rejected rows.csv"
            rows = sent.file.content.decode("utf-8-sig").splitlines()
            assert "first " + str(len(rows) - 1) + " of 300 rows" in (sent.caption or "")

    # files of each kind are imported, and a file's list takes its new version
    content = (
        "Email;Имя;Город\n"
        "ann@example.com;Ann;Paris\n"
        "not-an-email;Bob;Rome\n"
        "ANN@Example.com;Ann again;Paris\n"
        "=cmd|' /C calc'!A0;Eve;Nowhere\n"
        "carl@example.org;Carl;Berlin\n"
    ).encode()
    mark = bot.api.mark(M)
    summary = await upload_to_new_list(bot, "clients.csv", content)
    assert "Import finished" in summary.text
    assert "Rows read: 5" in summary.text and "Added: 2" in summary.text
    assert "Repeated inside the file: 1" in summary.text and "Invalid: 2" in summary.text
    assert "line 3: not-an-email;Bob;Rome" in summary.text
    assert "{{ город }}" in summary.text  # the extra column became a placeholder
    rejected = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: m.kind == "document"
    )
    assert rejected.filename == "rejected rows.csv"
    text = rejected.file_bytes.decode("utf-8-sig")  # type: ignore[union-attr]
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    # Column names and reasons in the manager's language, the rows' own cells as they were.
    assert rows[:2] == [
        ["Line", "Reason", "Email", "Имя", "Город"],
        ["3", "invalid email", "not-an-email", "Bob", "Rome"],
    ]
    assert rows[2][:3] == ["5", "invalid email", "'=cmd|' /C calc'!A0"]  # formula escaped
    assert "import-" not in text
    async with bot.app.db.uow_factory() as uow:
        rlist = await uow.lists.find_by_name("clients")
        assert rlist is not None and rlist.id is not None
        page = await uow.members.members(rlist.id, 0, 10)
    assert [a.value for a in page.items] == ["ann@example.com", "carl@example.org"]
    assert page.items[1].attributes["город"] == "Berlin"

    # windows 1251 tab separated csv keeps cyrillic
    content = "Почта\tИмя\nivan@example.ru\tИван Петров\n".encode("cp1251")
    summary = await upload_to_new_list(bot, "база.csv", content)
    assert "Added: 1" in summary.text
    async with bot.app.db.uow_factory() as uow:
        address = await uow.addresses.find(AddressKind.email, "ivan@example.ru")
    assert address is not None and address.attributes["name"] == "Иван Петров"

    # plain text and telegram ids
    summary = await upload_to_new_list(bot, "ids.txt", b"123456789\n987654321\n@someone\n")
    assert "Added: 2" in summary.text and "Invalid: 1" in summary.text

    # xlsx with several sheets asks which one
    book = xlsx(
        ("Summary", [["total", 2]]),
        (
            "People",
            [
                ["E-mail", "Name", "Score"],
                ["a@example.com", "A", "=1+1"],
                ["b@example.com", "B", 3],
            ],
        ),
    )
    mark = bot.api.mark(M)
    bot.api.send_document(M, "book.xlsx", book, language_code="en")
    ask = await bot.api.wait_for_message(M, since=mark, contains="Which list")
    bot.api.press(M, "➕ New list", message_id=ask.message_id)
    pick = await bot.api.wait_for_message(M, contains="several sheets")
    assert pick.buttons == ["Summary", "People"]
    mark = bot.api.mark(M)
    bot.api.press(M, "People")
    summary = await bot.api.wait_for_message(M, since=mark, contains="Import finished")
    assert "Added: 2" in summary.text

    # xlsx with formulas and merged cells imports
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["email", "name", "city"])
    sheet.append(["x@example.com", "X", "Moscow"])
    sheet.append(["y@example.com", "=B2", "Moscow"])
    sheet.merge_cells("C2:C3")
    buffer = io.BytesIO()
    book.save(buffer)
    summary = await upload_to_new_list(bot, "merged.xlsx", buffer.getvalue())
    assert "Added: 2" in summary.text

    # a list from a file is updated by its new version
    # Re-import of a file's list asks for the new file; that one is compared with the
    # list like a link's source, and only the offer's button removes who left it.
    first = b"email\nann@example.com\nbob@example.com\n"
    assert "Added: 2" in (await upload_to_new_list(bot, "team.csv", first)).text
    index = await bot.say(M, "/lists", language_code="en")
    await bot.press(M, "📋 team", message_id=index.message_id)
    ask = await bot.press(M, "🔄 Re-import")
    assert "send the new version of the file" in ask.text
    mark = bot.api.mark(M)
    bot.api.send_document(M, "team.csv", b"email\nann@example.com\n", language_code="en")
    offer = await bot.api.wait_for_message(M, since=mark, contains="no longer in the source")
    assert offer.text.startswith("1 address of the list is no longer in the source")
    done = await bot.press(M, "🗑 Remove 1 address", message_id=offer.message_id)
    assert done.text == "🗑 1 address removed from the list."
    assert await members_of(bot, "team") == ["ann@example.com"]

    # a file over 20 mb points to import by link
    downloaded = len([m for m, _ in bot.api.requests if m.lower() == "getfile"])
    big = b"email\n" + b"a" * (20 * 1024 * 1024 + 10)
    reply = await upload_to_new_list(bot, "huge.csv", big)
    assert "over 20 MB" in reply.text and "link" in reply.text
    downloads = [m for m, _ in bot.api.requests if m.lower() == "getfile"]
    assert len(downloads) == downloaded  # the big file was never fetched

    # sendsay not configured is said plainly
    await bot.say(M, "/lists", language_code="en")
    await bot.press(M, "➕ New list")
    await bot.say(M, "S", language_code="en")
    reply = await bot.press(M, "📨 From Sendsay")
    assert "Sendsay" in reply.text and "not" in reply.text.lower()

    # private addresses are refused by default
    await ask_for_source(bot, "Sneaky")
    mark = bot.api.mark(M)
    bot.api.send_text(M, "http://127.0.0.1:9/secret.csv", language_code="en")
    reply = await bot.api.wait_for_message(
        M, since=mark, predicate=lambda m: "Downloading" not in m.text
    )
    assert "127.0.0.1" in reply.text


@pytest.fixture
async def link_bot(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(
        fake_api, migrated_pg_url, import_allow_private_urls=True, import_fetch_timeout=1.0
    ) as harness:
        await make_manager(harness)
        yield harness


async def ask_for_source(bot: BotHarness, name: str, user: int = M) -> None:
    await bot.say(user, "/lists", language_code="en")
    await bot.press(user, "➕ New list")
    await bot.say(user, name, language_code="en")
    await bot.press(user, "📥 File or link")


@asynccontextmanager
async def patient_link_bot(
    fake_api: FakeBotAPI, url: str
) -> AsyncIterator[tuple[BotHarness, FileServer]]:
    """A manager's bot that takes loopback links with a fetch timeout a loaded machine
    meets (``link_bot``'s 1 s is for the slow-link test), and a file server."""
    async with (
        running_bot(fake_api, url, import_allow_private_urls=True, import_fetch_timeout=20) as bot,
        FileServer() as files,
    ):
        await make_manager(bot)
        yield bot, files


async def test_a_link_is_imported_offered_and_updated_from_its_source(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> None:
    async with patient_link_bot(fake_api, migrated_pg_url) as (bot, files):
        await ask_for_source(bot, "From link")
        bot.api.send_text(M, files.url("/list.csv"), language_code="en")
        summary = await bot.api.wait_for_message(M, contains="Import finished", timeout=25)
        assert "Added: 2" in summary.text
        card_index = await bot.say(M, "/lists", language_code="en")
        assert "Source: link: " + files.url("/list.csv") in card_index.text
        await bot.press(M, "📋 From link", message_id=card_index.message_id)
        mark = bot.api.mark(M)
        bot.api.press(M, "🔄 Re-import")
        again = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=25
        )
        assert "In the list already: 2" in again.text

        # a link in capitals is offered and imported
        url = files.url("/list.csv").replace("http://", "HTTP://")
        offer = await bot.say(M, url, language_code="en")
        assert "Import the addresses from this link" in offer.text
        mark = bot.api.mark(M)
        bot.api.press(M, "➕ New list “list”", message_id=offer.message_id)
        summary = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=25
        )
        assert "Added: 2" in summary.text

        # a re-import adds and updates; the members gone from the source are counted and
        # go only on the offer's button, all at once
        files.csv_body = b"email\nann@example.com\nbob@example.com\ncid@example.com\n"
        await ask_for_source(bot, "Synced")
        mark = bot.api.mark(M)
        bot.api.send_text(M, files.url("/list.csv"), language_code="en")
        first = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=25
        )
        assert "Added: 3" in first.text
        files.csv_body = b"email\nann@example.com\ndan@example.com\n"
        card_index = await bot.say(M, "/lists", language_code="en")
        await bot.press(M, "📋 Synced", message_id=card_index.message_id)
        mark = bot.api.mark(M)
        bot.api.press(M, "🔄 Re-import")
        again = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=25
        )
        offer = await bot.api.wait_for_message(M, since=mark, contains="no longer in the source")
        assert "Added: 1" in again.text and "In the list already: 1" in again.text
        assert offer.text.startswith("2 addresses of the list are no longer in the source")
        assert offer.buttons == ["🗑 Remove 2 addresses", "Keep them"]
        assert len(await members_of(bot, "Synced")) == 4  # nothing goes without the press
        done = await bot.press(M, "🗑 Remove 2 addresses", message_id=offer.message_id)
        assert done.text == "🗑 2 addresses removed from the list."
        assert await members_of(bot, "Synced") == ["ann@example.com", "dan@example.com"]


BAD_LINKS = [("/login", "web page"), ("/slow", "within"), ("/status/404", "404")]


async def test_bad_links_get_a_clear_message_and_store_nothing(link_bot: BotHarness) -> None:
    """One bot for all the links; each from a manager of their own, as the import step
    stays open after a failed link."""
    bot = link_bot
    async with FileServer() as files:
        for n, (path, word) in enumerate(BAD_LINKS):
            user = 2600 + n
            await grant(bot, user)
            await ask_for_source(bot, f"Bad link {n}", user)
            mark = bot.api.mark(user)
            bot.api.send_text(user, files.url(path), language_code="en")
            reply = await bot.api.wait_for_message(
                user, since=mark, predicate=lambda m: "Downloading" not in m.text, timeout=10
            )
            assert word in reply.text.lower(), path
            assert await stored_counts(bot) == (0, 0), path


async def test_import_from_sendsay(fake_api: FakeBotAPI, migrated_pg_url: str) -> None:
    """The members' fields come along (member.list asks for the datakeys), named after
    their quests, so a list sent through Sendsay comes back with its placeholders."""
    async with FakeSendsay(account="acme", api_key="sekret") as sendsay:
        sendsay.add_anketa("mailforge", "MailForge", ["first_name"])
        sendsay.add_anketa("base", "Base", ["city"])
        sendsay.add_group(
            "pl1",
            "Newsletter",
            [
                {"email": "s1@example.com", "mailforge.first_name": "Анна", "base.city": "Омск"},
                {"email": "s2@example.com", "mailforge.first_name": "Bob"},
            ],
        )
        async with running_bot(
            fake_api,
            migrated_pg_url,
            sendsay_account="acme",
            sendsay_api_key="sekret",
            sendsay_api_url=sendsay.base_url,
            sendsay_from="news@example.com",
        ) as bot:
            await make_manager(bot)
            await bot.say(M, "/lists", language_code="en")
            await bot.press(M, "➕ New list")
            await bot.say(M, "From Sendsay", language_code="en")
            pick = await bot.press(M, "📨 From Sendsay")
            assert pick.buttons == ["Newsletter"]
            mark = bot.api.mark(M)
            bot.api.press(M, "Newsletter")
            summary = await bot.api.wait_for_message(M, since=mark, contains="Import finished")
            assert "Added: 2" in summary.text
            async with bot.app.db.uow_factory() as uow:
                ann = await uow.addresses.find(AddressKind.email, "s1@example.com")

            # Re-import: the same Sendsay list exported again, nobody new.
            card_index = await bot.say(M, "/lists", language_code="en")
            await bot.press(M, "📋 From Sendsay", message_id=card_index.message_id)
            mark = bot.api.mark(M)
            bot.api.press(M, "🔄 Re-import")
            again = await bot.api.wait_for_message(M, since=mark, contains="Import finished")
            assert "In the list already: 2" in again.text
    assert ann is not None and ann.attributes.get("first_name") == "Анна"
    assert ann.attributes.get("city") == "Омск"
    asked = sendsay.bodies("member.list")
    assert len(asked) == 2  # the import, then the re-import
    assert asked[0]["datakey"] == ["member.email", "mailforge", "base"]


@pytest.fixture
async def eager_progress_bot(
    fake_api: FakeBotAPI, migrated_pg_url: str
) -> AsyncIterator[BotHarness]:
    """Shows an import's progress from the first batch and edits it after every one
    (normally: after 2 s, every 3 s)."""
    eager = {"import_progress_delay": 0.0, "import_progress_interval": 0.0}
    async with running_bot(fake_api, migrated_pg_url, services=eager) as harness:
        await make_manager(harness)
        yield harness


async def test_a_long_import_shows_a_progress_message_that_updates(
    eager_progress_bot: BotHarness,
) -> None:
    bot = eager_progress_bot
    rows = "".join(f"user{i}@example.com,Name {i}\n" for i in range(60_000))
    # a loaded CI machine may need far more than the default 5 s for 60,000 rows
    summary = await upload_to_new_list(bot, "big.csv", ("email,name\n" + rows).encode(), 60)
    assert "Added: 60000" in summary.text
    progress = [
        m for m in bot.api.messages(M) if "rows processed" in (m.history[:1] or [m.text])[0]
    ]
    assert len(progress) == 1, "exactly one progress message, edited in place"
    assert progress[0].edits >= 2 and progress[0].deleted  # it goes when the summary comes
    counts = [int("".join(filter(str.isdigit, text))) for text in progress[0].history]
    assert counts == sorted(counts) and counts[0] >= BATCH_ROWS  # after each batch
