"""How mailings read in the chat: list lines, the card, the preview report."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import DomainError
from domain.mailings import Channel, Mailing, MailingStatus, Schedule, ScheduleKind
from domain.pagination import Page
from domain.paid import FEE, FREE_RATE, PaidEstimate
from domain.runs import MailingRun
from domain.schedule_input import describe_cron
from domain.usecases import ab_tests
from domain.usecases.preview import Preview
from handlers.i18n import Raw, current_language, t
from handlers.mailing_ab_kb import wait_label
from handlers.mailings_kb import STATUS_ICONS


def when(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def schedule_text(m: Mailing, tz: ZoneInfo) -> str:
    """A mailing's schedule in words (Telegram HTML): "once, 08.12.2026 09:00", "every
    day at 09:30, 3 times", "every Monday at 10:00, until 31.12.2026 23:59"."""
    s = m.schedule
    if s.kind is ScheduleKind.once:
        return t("schedule-once-at", when=when(s.run_at, tz))
    if s.kind is ScheduleKind.cron:
        return recurrence_text(s, tz)
    return t("schedule-manual")


def recurrence_text(s: Schedule, tz: ZoneInfo) -> str:
    """A recurring schedule in words, with its end: the count of runs in the language's
    plural form ("3 раза", "5 раз"). Only a cron expression no words fit is shown as it
    is; the zone is named when it is not the bot's ``TIMEZONE``."""
    words = describe_cron(s.cron or "", current_language())
    text = html.escape(words) if words else t("schedule-cron-text", cron=s.cron or "")
    if s.timezone != tz.key:
        text += f" ({html.escape(s.timezone)})"
    parts = [text]
    if s.max_runs:
        parts.append(t("schedule-times", count=s.max_runs))
    if s.ends_at:
        parts.append(t("schedule-until", when=when(s.ends_at, tz)))
    return ", ".join(parts)


def status_text(m: Mailing) -> str:
    if m.archived_at:
        return "🗄 " + t("mailings-status-archived")
    return f"{STATUS_ICONS[m.status]} {t(f'mailings-status-{m.status.value}')}"


def browse_text(page: Page[Mailing], status: str) -> str:
    if not page.items:
        return t("mailings-empty")
    head = t("mailings-title", total=page.total, page=page.page + 1, pages=page.pages)
    if status:
        head += " · " + t(f"mailings-filter-{status}")
    return head


def card_text(
    m: Mailing,
    list_names: list[str],
    last_run: MailingRun | None,
    tz: ZoneInfo,
    next_launch: datetime | None = None,
    fast_rate: float = FREE_RATE,
    author: str | None = None,
) -> str:
    lines = [t("mailings-card-title", name=m.name)]
    if author is not None:
        lines.append(t("mailings-card-author", author=author))
    lines += [
        t("mailings-card-status", status=status_text(m)),
        t("mailings-card-channel", channel=t(f"channel-{m.channel.value}")),
    ]
    if m.channel is Channel.telegram and fast_rate > FREE_RATE:
        speed = "fast" if m.fast else "free"
        lines.append(t(f"mailings-card-speed-{speed}", rate=f"{fast_rate:g}"))
    if m.subject:
        lines.append(t("mailings-card-subject", subject=m.subject))
    lines.append(t("mailings-card-lists", lists=", ".join(list_names) or "—"))
    lines.append(t("mailings-card-schedule", schedule=Raw(schedule_text(m, tz))))
    if m.status is MailingStatus.scheduled:
        lines.append(t("mailings-card-scheduled-for", when=when(next_launch, tz)))
    elif m.status is MailingStatus.draft and m.schedule.kind is not ScheduleKind.none:
        lines.append(t("mailings-card-not-scheduled"))
    if m.media:
        lines.append(t("mailings-card-media", kind=media_name(m.media)))
    if (test := ab_tests.test_of(m)) is not None:
        lines.append(t("ab-card", count=test.count, part=t(f"ab-part-{test.part.value}")))
    if last_run is not None:
        tot = last_run.totals
        lines.append(
            t(
                "mailings-card-last-run-ended" if last_run.ended else "mailings-card-last-run",
                when=when(last_run.started_at, tz),
                delivered=tot.delivered,
                failed=tot.failed,
                refused=tot.refused,
                pending=tot.pending + tot.sending,
            )
        )
    return "\n".join(lines)


def preview_report(p: Preview) -> str:
    a = p.audience
    lines = [t("preview-title", name=p.mailing.name), t("preview-recipients", count=a.reachable)]
    if p.subject:
        lines.append(t("preview-subject", subject=p.subject))
    if a.first is not None:
        lines.append(t("preview-first", address=a.first.value))
    if p.paid is not None:
        lines.append(paid_line(p.paid))
    lines += ab_lines(p)
    problems = [w for w in p.warnings if w.blocking]
    notes = [w for w in p.warnings if not w.blocking]
    if problems:
        lines.append("")
        lines.append(t("preview-problems"))
        lines += [f"⛔️ {t(w.key, **w.params)}" for w in problems]
    if notes:
        lines.append("")
        lines += [f"⚠️ {t(w.key, **w.params)}" for w in notes]
    if not problems:
        lines.append("")
        lines.append(t("preview-ready"))
    return "\n".join(lines)


def ab_lines(p: Preview) -> list[str]:
    """A mailing's A/B test: its variants, sample, wait and metric, and what would stop
    its launch (a sample too small by now, variants made equal by an edit)."""
    test = ab_tests.test_of(p.mailing)
    if test is None:
        return []
    size = int(p.audience.reachable * test.percent // 100)
    line = t(
        "ab-preview",
        count=test.count,
        percent=f"{test.percent:g}",
        size=size,
        wait=wait_label(test),
        metric=t(f"ab-metric-{test.metric}"),
    )
    try:
        ab_tests.check_launch(p.mailing, p.audience.reachable)
    except DomainError as exc:
        return [line, f"⛔️ {t(exc.key, **exc.params)}"]
    return [line]


def paid_line(paid: PaidEstimate) -> str:
    """A fast mailing: its rate, the most it can cost, and the bot's balance."""
    balance = "?" if paid.balance is None else f"{paid.balance.normalize():,f}"
    return t(
        "preview-paid",
        rate=f"{paid.rate:g}",
        fee=f"{FEE}",
        cost=f"{paid.cost:,}",
        balance=balance,
    )


def media_name(media: dict[str, Any]) -> str:
    """A mailing's media as its card names it: "photo", "album of 3 items"…"""
    kind = str(media.get("type") or "document")
    if kind == "album":
        return t("media-album", count=len(media.get("items") or ()))
    return t(f"media-{kind}")
