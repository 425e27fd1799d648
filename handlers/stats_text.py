"""Texts of the statistics screens (Telegram HTML)."""

from __future__ import annotations

import re
from datetime import tzinfo

from domain.mailings import Channel, Mailing
from domain.pagination import Page
from domain.runs import MailingRun
from domain.stats import PERIODS, ChannelSummary, RunReport, Sends
from handlers.i18n import local_time, reason_text, t

REASON_MAX = 120


def _when(run: MailingRun, tz: tzinfo) -> str:
    return local_time(run.started_at or run.scheduled_for, tz)


def report_text(report: RunReport, tz: tzinfo) -> str:
    run, tot = report.run, report.run.totals
    lines = [
        t("stats-title", name=report.mailing.name, run=run.id or 0, when=_when(run, tz)),
        t("stats-run-status", status=t(f"run-status-{run.status.value}"))
        + (" " + t("stats-test-mark") if run.is_test else ""),
        "",
        t("stats-total", count=tot.total),
        t("stats-delivered", count=tot.delivered),
        t("stats-failed", count=tot.failed),
        t("stats-refused", count=tot.refused),
        t("stats-not-sent" if run.ended else "stats-pending", count=tot.pending + tot.sending),
    ]
    if report.possibly_twice:
        lines.append(t("stats-possibly-twice", count=report.possibly_twice))
    if report.details_removed:
        lines += ["", t("stats-details-removed")]
    elif report.reasons:
        lines += ["", t("stats-reasons")]
        for reason in report.reasons:
            error = reason_text(reason.error) if reason.error else t("stats-no-reason")
            if len(error) > REASON_MAX:
                error = error[: REASON_MAX - 1] + "…"
            lines.append(
                t(
                    "stats-reason",
                    status=t(f"stats-status-{reason.status}"),
                    count=reason.count,
                    error=error,
                )
            )
    return "\n".join(lines)


def history_text(mailing: Mailing, page: Page[MailingRun]) -> str:
    if not page.total:
        return t("stats-history-empty", name=mailing.name)
    return t(
        "stats-history", name=mailing.name, count=page.total, page=page.page + 1, pages=page.pages
    )


def _sends(sends: Sends) -> str:
    return t(
        "stats-sends",
        total=sends.total,
        delivered=sends.delivered,
        failed=sends.failed,
        refused=sends.refused,
    )


def summary_text(summary: ChannelSummary) -> str:
    lines = [t("stats-admin-title")]
    for period in PERIODS:
        per = summary.periods[period]
        lines += ["", t(f"stats-admin-{period.value}")]
        if not per:
            lines.append(t("stats-admin-none"))
        for channel in Channel:
            if channel in per:
                lines.append(f"{t(f'channel-{channel.value}')}: {_sends(per[channel])}")
        if len(per) > 1:
            total = sum(per.values(), Sends())
            lines.append(f"{t('stats-admin-all')}: {_sends(total)}")
    lines += ["", t("stats-admin-with-tests" if summary.with_tests else "stats-admin-no-tests")]
    return "\n".join(lines)


def chart_labels() -> dict[str, str]:
    labels = {
        key: t(f"stats-chart-{key.replace('_', '-')}")
        for key in (
            "delivered",
            "failed",
            "refused",
            "pending",
            "not_sent",
            "statuses",
            "rate",
            "per_minute",
            "per_channel",
            "per_day",
            "no_sends",
        )
    }
    labels |= {p.value: t(f"stats-chart-{p.value}") for p in PERIODS}
    # Chart fonts have no emoji: "✈️ Telegram" is drawn as "Telegram".
    labels |= {c.value: re.sub(r"^\W+", "", t(f"channel-{c.value}")) for c in Channel}
    return labels
