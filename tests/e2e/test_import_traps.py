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


async def test_failed_files_leave_no_new_list_and_the_step_open(
    manager: BotHarness, tmp_path: Path
) -> None:
    """One bot for every trap (it started one per trap); each from a manager of their own,
    as a failed file leaves the import step open."""
    bot = manager
    for user, (filename, content) in enumerate(
        [("allbad.csv", b"email\nnope\nstill-nope\n"), ("empty.csv", b"")], start=2700
    ):
        await grant(bot, user)
        reply = await upload_to_new_list(bot, filename, content, user=user)
        assert "Import finished" not in reply.text, filename
        assert await list_names(bot) == [], filename

    # a new list for a workbook is made only after its sheet is chosen
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

    # after a failed file the import step stays open
    clients = 2710
    await grant(bot, clients)
    await ask_for_source(bot, "Clients", clients)
    mark = bot.api.mark(clients)
    bot.api.send_document(clients, "noaddr.csv", b"name,city\nAnn,Paris\n", language_code="en")
    failed = await bot.api.wait_for_message(clients, since=mark, contains="try again", timeout=15)
    assert "Import finished" not in failed.text and failed.buttons == ["Cancel"]
    mark = bot.api.mark(clients)
    bot.api.send_document(clients, "good.csv", b"email\nann@example.com\n", language_code="en")
    summary = await bot.api.wait_for_message(
        clients, since=mark, contains="Import finished", timeout=15
    )
    assert "Added: 1" in summary.text
    assert await list_names(bot) == ["book", "Clients"]

    # a 10000-column CSV and a 10 MB line get exact messages
    wide_user = 2720
    await grant(bot, wide_user)
    header = ";".join(f"c{i}" for i in range(10_000))
    wide = await upload_to_new_list(
        bot, "wide.csv", f"{header}\na@example.com\n".encode(), user=wide_user
    )
    assert "Row 1 has 10000 columns; at most 1000 are read" in wide.text
    mark = bot.api.mark(wide_user)  # the import step stays open for the next try
    bot.api.send_document(wide_user, "line.txt", b"a" * 10_000_000, language_code="ru")
    line = await bot.api.wait_for_message(wide_user, since=mark, contains="Строка 1", timeout=30)
    assert "Строка 1 длиннее 131072 символов" in line.text
    assert "Файл пустой" not in line.text
    assert await list_names(bot) == ["book", "Clients"]

    # a workbook bomb: 208 KB, 5 million shared strings once unpacked: refused before it
    # is parsed, and the bot goes on answering
    bomber = 2730
    await grant(bot, bomber)
    bomb = shared_strings_bomb(tmp_path / "bomb.xlsx").read_bytes()
    reply = await upload_to_new_list(bot, "bomb.xlsx", bomb, user=bomber)
    assert "“bomb.xlsx” is packed 412 times smaller than it unpacks" in reply.text
    assert "zip bomb" in reply.text
    assert await list_names(bot) == ["book", "Clients"]
    again = await bot.say(bomber, "/lists", language_code="en")
    assert again.text


async def test_a_link_alone_is_offered_and_a_failed_link_keeps_the_step_open(
    link_bot: BotHarness,
) -> None:
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

        # after a failed link the import step stays open
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
