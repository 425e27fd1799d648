"""The order of the mailing dialog and moving between its steps.

Create mode walks every step that applies to the channel; edit mode opens one step and
returns to the card. Every step writes to the draft at once, so a restart or a Cancel
never loses what the manager typed.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext

from domain.mailings import Channel, Mailing
from domain.usecases import mailings
from handlers.mailings_kb import Step

ORDER = [
    Step.name,
    Step.channel,
    Step.subject,
    Step.content,
    Step.options,
    Step.lists,
    Step.schedule,
    Step.preview,
]


def applies(step: Step, mailing: Mailing | None) -> bool:
    if mailing is None:
        return step is Step.name
    if step is Step.subject:
        return mailings.needs_subject(mailing.channel)
    if step is Step.options:
        return mailing.channel is Channel.telegram
    return True


def following(step: Step, mailing: Mailing | None) -> Step:
    index = ORDER.index(step)
    for candidate in ORDER[index + 1 :]:
        if applies(candidate, mailing):
            return candidate
    return Step.preview


def previous(step: Step, mailing: Mailing | None) -> Step | None:
    index = ORDER.index(step)
    for candidate in reversed(ORDER[:index]):
        if applies(candidate, mailing):
            return candidate
    return None


async def dialog_mailing(state: FSMContext, user_id: int, deps: dict[str, Any]) -> Mailing | None:
    """The draft this dialog edits (re-checked: the caller may have lost the right)."""
    mailing_id = (await state.get_data()).get("mailing_id")
    if mailing_id is None:
        return None
    return await mailings.get(deps["uow_factory"], user_id, mailing_id)
