"""Imports that go wrong leave nothing behind and let the manager try again; a link
dropped into the chat is offered for import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import BotHarness, grant, running_bot
from tests.e2e.test_imports import ask_for_source, upload_to_new_list, xlsx
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.http_files import FileServer
from tests.unit.importers.files import shared_strings_bomb

M = 2002


@pytest.fixture
async def manager(bot: BotHarness) -> BotHarness:
    await grant(bot, M)
    return bot


@pytest.fixture
async def link_bot(fake_api: FakeBotAPI, migrated_pg_url: str) -> AsyncIterator[BotHarness]:
    async with running_bot(
        fake_api, migrated_pg_url, import_allow_private_urls=True, import_fetch_timeout=20.0
    ) as harness:
        await grant(harness, M)
        yield harness


async def list_names(bot: BotHarness) -> list[str]:
    async with bot.app.db.uow_factory() as uow:
        return [r.name for r in await uow.lists.all()]


@pytest.mark.parametrize(
    ("filename", "content"),
    [("allbad.csv", b"email\nnope\nstill-nope\n"), ("empty.csv", b"")],
)
async def test_an_import_that_imports_nothing_leaves_no_new_list(
    manager: BotHarness, filename: str, content: bytes
) -> None:
    reply = await upload_to_new_list(manager, filename, content)
    assert "Import finished" not in reply.text
    assert await list_names(manager) == []


async def test_a_new_list_for_a_workbook_is_made_only_after_its_sheet_is_chosen(
    manager: BotHarness,
) -> None:
    bot = manager
    book = xlsx(("Summary", [["total", 2]]), ("People", [["email"], ["a@example.com"]]))
    bot.api.send_document(M, "book.xlsx", book, language_code="en")
    ask = await bot.api.wait_for_message(M, contains="Which list")
    bot.api.press(M, "➕ New list", message_id=ask.message_id)
    await bot.api.wait_for_message(M, contains="several sheets")
    assert await list_names(bot) == []  # the manager may walk away here
    mark = bot.api.mark(M)
    bot.api.press(M, "People")
    await bot.api.wait_for_message(M, since=mark, contains="Import finished", timeout=15)
    assert await list_names(bot) == ["book"]


async def test_after_a_failed_file_the_import_step_stays_open(manager: BotHarness) -> None:
    bot = manager
    await ask_for_source(bot, "Clients")
    mark = bot.api.mark(M)
    bot.api.send_document(M, "noaddr.csv", b"name,city\nAnn,Paris\n", language_code="en")
    failed = await bot.api.wait_for_message(M, since=mark, contains="try again", timeout=15)
    assert "Import finished" not in failed.text and failed.buttons == ["Cancel"]
    mark = bot.api.mark(M)
    bot.api.send_document(M, "good.csv", b"email\nann@example.com\n", language_code="en")
    summary = await bot.api.wait_for_message(M, since=mark, contains="Import finished", timeout=15)
    assert "Added: 1" in summary.text
    assert await list_names(bot) == ["Clients"]


async def test_after_a_failed_link_the_import_step_stays_open(link_bot: BotHarness) -> None:
    bot = link_bot
    async with FileServer() as files:
        await ask_for_source(bot, "From link")
        mark = bot.api.mark(M)
        bot.api.send_text(M, files.url("/status/404"), language_code="en")
        failed = await bot.api.wait_for_message(M, since=mark, contains="try again", timeout=15)
        assert "404" in failed.text
        mark = bot.api.mark(M)
        bot.api.send_text(M, files.url("/list.csv"), language_code="en")
        summary = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=15
        )
    assert "Added: 2" in summary.text


async def test_a_link_sent_outside_a_dialog_is_offered_for_import(link_bot: BotHarness) -> None:
    bot = link_bot
    async with FileServer() as files:
        offer = await bot.say(M, files.url("/list.csv"), language_code="en")
        assert "Import the addresses from this link" in offer.text
        assert offer.buttons == ["➕ New list “list”"]
        mark = bot.api.mark(M)
        bot.api.press(M, "➕ New list “list”", message_id=offer.message_id)
        summary = await bot.api.wait_for_message(
            M, since=mark, contains="Import finished", timeout=15
        )
    assert "Added: 2" in summary.text
    assert await list_names(bot) == ["list"]


async def test_a_10000_column_csv_and_a_10_mb_line_get_exact_messages(
    manager: BotHarness,
) -> None:
    bot = manager
    header = ";".join(f"c{i}" for i in range(10_000))
    wide = await upload_to_new_list(bot, "wide.csv", f"{header}\na@example.com\n".encode())
    assert "Row 1 has 10000 columns; at most 1000 are read" in wide.text
    mark = bot.api.mark(M)  # the import step stays open for the next try
    bot.api.send_document(M, "line.txt", b"a" * 10_000_000, language_code="ru")
    line = await bot.api.wait_for_message(M, since=mark, contains="Строка 1", timeout=30)
    assert "Строка 1 длиннее 131072 символов" in line.text
    assert "Файл пустой" not in line.text
    assert await list_names(bot) == []


async def test_a_workbook_bomb_is_refused_with_a_clear_message(
    manager: BotHarness, tmp_path: Path
) -> None:
    """208 KB, 5 million shared strings once unpacked: refused before it is parsed, and
    the bot goes on answering."""
    bot = manager
    bomb = shared_strings_bomb(tmp_path / "bomb.xlsx").read_bytes()
    reply = await upload_to_new_list(bot, "bomb.xlsx", bomb)
    assert "“bomb.xlsx” is packed 412 times smaller than it unpacks" in reply.text
    assert "zip bomb" in reply.text
    assert await list_names(bot) == []
    again = await bot.say(M, "/lists", language_code="en")
    assert again.text
