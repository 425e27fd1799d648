"""A recipient presses an answer button under a copy: recorded once per recipient (a
second press changes the answer); forged or stale presses are ignored."""

from __future__ import annotations

from dataclasses import dataclass

from domain.answers import OptionCount, answer_labels
from domain.clock import Clock, SystemClock
from domain.ports.answers import AnswerBook
from domain.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Answered:
    label: str
    changed: bool  # a different answer than before
    again: bool  # the same answer pressed again


async def press(
    uow_factory: UnitOfWorkFactory,
    book: AnswerBook,
    *,
    run_id: int,
    option: int,
    chat_id: int,
    message_id: int,
    clock: Clock | None = None,
) -> Answered | None:
    """``None`` when the press does not count: no such run or option, or the message is
    not the presser's delivered copy of that run."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
    if run is None or run.is_follow_up:
        return None
    labels = answer_labels(run.content.get("options") or {})
    if not 0 <= option < len(labels):
        return None
    now = (clock or SystemClock()).now()
    before = await book.record(run_id, chat_id, message_id, option, now)
    if before is None:
        return None
    return Answered(labels[option], changed=before not in (-1, option), again=before == option)


async def answer_counts(
    uow_factory: UnitOfWorkFactory, book: AnswerBook, run_id: int
) -> list[OptionCount]:
    """Recipients per option of a run with answer buttons, in the buttons' order (the
    caller checked the rights); empty when the run had none."""
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
    labels = answer_labels((run.content.get("options") or {}) if run else {})
    if not labels:
        return []
    tally = await book.tally(run_id)
    return [OptionCount(label, tally.get(i, 0)) for i, label in enumerate(labels)]


__all__ = ["Answered", "OptionCount", "answer_counts", "press"]
