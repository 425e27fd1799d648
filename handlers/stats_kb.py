"""Callback data and keyboards of the statistics screens."""

from __future__ import annotations

from datetime import tzinfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.pagination import Page
from domain.runs import MailingRun
from domain.stats import RunReport
from domain.usecases.follow_ups import FollowUpSummary
from handlers.callbacks import FollowAct, FollowCD, StatsAct, StatsCD
from handlers.follow_ups_kb import follow_up_buttons, offers_recall
from handlers.i18n import local_time, t
from handlers.mailing_ab_kb import winner_buttons
from handlers.mailings_kb import MailingAct, MailingCD
from handlers.stats_engagement import engagement_button
from handlers.stats_segments import SegmentStatsCD

FOLLOW_UPS = (
    (FollowAct.edit, "followup-button-edit"),
    (FollowAct.recall, "followup-button-recall"),
)


def report_keyboard(
    report: RunReport, found: list[FollowUpSummary] | None = None, winners: int = 0
) -> InlineKeyboardMarkup:
    """``winners``: an undecided A/B test's variants, each a "send it to the rest" button."""
    mailing_id, run_id = report.mailing.id or 0, report.run.id or 0
    kb = InlineKeyboardBuilder()
    sizes = []
    if winners:
        sizes.append(winner_buttons(kb, run_id, winners))
    if offers_recall(report.run):
        for follow, key in FOLLOW_UPS:
            kb.button(
                text=t(key),
                callback_data=FollowCD(action=follow, mailing_id=mailing_id, run_id=run_id),
            )
        sizes.append(2)
    sizes += [1] * follow_up_buttons(kb, mailing_id, found or [])
    if not report.details_removed and report.run.totals.total:
        for act in (StatsAct.csv, StatsAct.xlsx):
            kb.button(
                text=t(f"stats-button-{act.value}"),
                callback_data=StatsCD(action=act, mailing_id=mailing_id, run_id=run_id),
            )
        sizes.append(2)
    if not report.details_removed and report.run.totals.total:
        kb.button(
            text=t("stats-button-segments"),
            callback_data=SegmentStatsCD(mailing_id=mailing_id, run_id=run_id),
        )
        sizes.append(1)
    if engagement := engagement_button(report):
        kb.button(text=engagement[0], callback_data=engagement[1])
        sizes.append(1)
    kb.button(
        text=t("stats-button-history"),
        callback_data=StatsCD(action=StatsAct.history, mailing_id=mailing_id),
    )
    kb.button(
        text=t("stats-button-card"),
        callback_data=MailingCD(action=MailingAct.open, mailing_id=mailing_id),
    )
    kb.adjust(*sizes, 1, 1)
    return kb.as_markup()


def history_keyboard(mailing_id: int, page: Page[MailingRun], tz: tzinfo) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for run in page.items:
        when = local_time(run.started_at or run.scheduled_for, tz)
        test = " 🧪" if run.is_test else ""
        kb.button(
            text=f"#{run.id} · {when} · ✅ {run.totals.delivered}/{run.totals.total}{test}",
            callback_data=StatsCD(action=StatsAct.show, mailing_id=mailing_id, run_id=run.id or 0),
        )
    arrows = 0
    for has, delta, label in ((page.has_prev, -1, "◀️"), (page.has_next, 1, "▶️")):
        if has:
            kb.button(
                text=label,
                callback_data=StatsCD(
                    action=StatsAct.history, mailing_id=mailing_id, page=page.page + delta
                ),
            )
            arrows += 1
    kb.button(
        text=t("stats-button-card"),
        callback_data=MailingCD(action=MailingAct.open, mailing_id=mailing_id),
    )
    kb.adjust(*([1] * len(page.items)), *([arrows] if arrows else []), 1)
    return kb.as_markup()
