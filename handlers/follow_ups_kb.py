"""Texts and buttons of follow-ups on a run's card (recall, edit)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.buttons import url_buttons
from domain.follow_ups import ACTED_ON
from domain.mailings import Channel
from domain.runs import MailingRun
from domain.usecases.follow_ups import FollowUpSummary
from handlers.callbacks import StatsAct, StatsCD
from handlers.i18n import t


def offers_recall(run: MailingRun) -> bool:
    """Whether a run's card offers "Delete from recipients' chats"."""
    return (
        not run.is_follow_up
        and run.content.get("channel") == Channel.telegram.value
        and run.status in ACTED_ON
        and run.totals.delivered > 0
    )


def follow_up_lines(found: list[FollowUpSummary]) -> list[str]:
    lines = []
    for summary in found:
        run, tot = summary.run, summary.run.totals
        lines.append(
            t(
                f"followup-{run.kind.value}-line",
                run=run.id or 0,
                status=t(f"run-status-{run.status.value}"),
                deleted=tot.delivered,
                kept=summary.kept,
                failed=tot.failed + tot.refused - summary.kept,
                pending=tot.pending + tot.sending,
            )
        )
    return lines


def follow_up_buttons(
    kb: InlineKeyboardBuilder, mailing_id: int, found: list[FollowUpSummary]
) -> int:
    """Buttons to each follow-up's own report (its per-recipient export); how many."""
    for summary in found:
        kb.button(
            text=t(f"followup-button-results-{summary.run.kind.value}", run=summary.run.id or 0),
            callback_data=StatsCD(
                action=StatsAct.show, mailing_id=mailing_id, run_id=summary.run.id or 0
            ),
        )
    return len(found)


def url_keyboard(rows: Any) -> InlineKeyboardMarkup | None:
    """A run's URL buttons (``options["buttons"]``), as its copies carry them."""
    if not rows:
        return None
    kb = InlineKeyboardBuilder()
    for row in url_buttons(rows):
        kb.row(*[InlineKeyboardButton(text=b.text, url=b.url) for b in row])
    return kb.as_markup()
