"""Recipients' answers to answer buttons, and their chart (``usecases.answers``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.answers import OptionCount


class AnswerBook(Protocol):
    """Recipients' answers to answer buttons (``domain.answers``)."""

    async def record(
        self, run_id: int, chat_id: int, message_id: int, option: int, now: datetime
    ) -> int | None:
        """Record ``option`` for the recipient in ``chat_id`` if ``message_id`` is their
        delivered copy of run ``run_id``; the option they had answered before (-1: none),
        or ``None`` (nothing recorded) when it is not."""
        ...

    async def tally(self, run_id: int) -> dict[int, int]:
        """Recipients per answered option of a run."""
        ...


class AnswerChart(Protocol):
    """Draws recipients per answer option of a run as a PNG."""

    async def answer_chart(
        self, counts: Sequence[OptionCount], title: str, empty: str
    ) -> bytes: ...
