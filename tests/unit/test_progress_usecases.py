"""A run's progress message is remembered until its summary (``domain.usecases.progress``),
so a restarted bot follows the same message again."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.runs import MailingRun, ProgressMessage
from domain.usecases import progress
from tests.fakes.memory_uow import MemoryDatabase


async def test_a_message_is_followed_until_its_summary_is_shown() -> None:
    db = MemoryDatabase()
    async with db.uow_factory() as uow:
        first = await uow.runs.add(MailingRun(1, datetime(2026, 12, 7, tzinfo=UTC)))
        second = await uow.runs.add(MailingRun(2, datetime(2026, 12, 7, tzinfo=UTC)))
        await uow.commit()
    assert first and second and await progress.progress_to_follow(db.uow_factory) == []

    shown = ProgressMessage(chat_id=5005, message_id=42, locale="ru")
    await progress.show_progress(db.uow_factory, first.id or 0, shown)
    [followed] = await progress.progress_to_follow(db.uow_factory)
    assert followed.id == first.id and followed.progress == shown

    await progress.show_progress(db.uow_factory, first.id or 0, None)  # the summary is out
    assert await progress.progress_to_follow(db.uow_factory) == []
