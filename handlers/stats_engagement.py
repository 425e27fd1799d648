"""A run's opens, clicks and bounces: the "Opens & clicks" screen under its statistics,
and the one-line bounce count on the statistics screen itself.

The screen has its own buttons (``EngagementCD``) so the statistics screens can change
without it; its chart is drawn by ``services.link_chart``.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.engagement import EngagementReport, RunEngagement
from domain.stats import RunReport
from domain.tracking_plan import TRACKED_CHANNELS
from domain.usecases.engagement_stats import engagement_report, run_engagement
from domain.users import User
from handlers.callbacks import StatsAct, StatsCD
from handlers.filters import ButtonMessage, IsStaff
from handlers.i18n import t
from handlers.mailings_kb import MailingAct, MailingCD
from handlers.services import Services

URL_MAX = 80
LINKS_SHOWN = 20


class EngagementAct(StrEnum):
    """Values travel in callback data: keep them."""

    show = "show"


class EngagementCD(CallbackData, prefix="se"):
    """``run_id=0``: the latest run. Untrusted: the use case checks the caller's rights."""

    action: EngagementAct
    mailing_id: int
    run_id: int = 0


def engagement_button(report: RunReport) -> tuple[str, EngagementCD] | None:
    """The statistics screen's button to this one (text, callback data): for runs sent
    by email or Telegram, whose opens and clicks MailForge counts itself."""
    channel = report.run.content.get("channel", report.mailing.channel)
    if channel not in {c.value for c in TRACKED_CHANNELS}:
        return None
    mailing_id, run_id = report.mailing.id or 0, report.run.id or 0
    data = EngagementCD(action=EngagementAct.show, mailing_id=mailing_id, run_id=run_id)
    return t("stats-button-engagement"), data


async def with_bounces(text: str, services: Services, run_id: int | None) -> str:
    """The statistics screen's text with its line on bounces (the caller checked rights)."""
    line = bounce_line(await run_engagement(services.engagement, run_id or 0))
    return f"{text}\n\n{line}" if line else text


def bounce_line(engagement: RunEngagement) -> str:
    """The statistics screen's line on bounces; empty while none came back."""
    e = engagement
    if not (e.bounced or e.soft_bounced or e.complained):
        return ""
    return t("stats-bounces", hard=e.bounced, soft=e.soft_bounced, complaints=e.complained)


def _rate(value: float | None) -> str:
    return t("stats-eng-no-rate") if value is None else f"{value:.1f}%"


def _short(url: str) -> str:
    return url if len(url) <= URL_MAX else url[: URL_MAX - 1] + "…"


def engagement_text(report: EngagementReport, service_tracking: bool) -> str:
    e = report.engagement
    lines = [
        t("stats-eng-title", name=report.mailing.name, run=report.run.id or 0),
        "",
        t("stats-eng-delivered", count=report.delivered),
    ]
    if not report.tracked:
        lines.append(t("stats-eng-untracked"))
    if report.counts_opens:
        lines.append(t("stats-eng-opened", count=e.opened, rate=_rate(report.open_rate)))
    lines.append(
        t("stats-eng-clicked", count=e.clicked, rate=_rate(report.click_rate), clicks=e.clicks)
    )
    if report.counts_opens and e.opened:
        lines.append(t("stats-eng-click-to-open", rate=_rate(report.click_to_open)))
    if e.bot_clicks:
        lines.append(t("stats-eng-scanners", count=e.bot_clicks))
    lines.append("")
    lines.append(t("stats-eng-opens-note" if report.counts_opens else "stats-eng-telegram-opens"))
    if not service_tracking:
        lines.append(t("stats-eng-service-off"))
    lines.append("")
    if report.links:
        lines.append(t("stats-eng-links"))
        for link in report.links[:LINKS_SHOWN]:
            lines.append(
                t(
                    "stats-eng-link",
                    n=link.index + 1,
                    url=_short(link.url),
                    people=link.unique_clicks,
                    clicks=link.clicks,
                )
            )
    else:
        lines.append(t("stats-eng-no-links"))
    bounces = bounce_line(e)
    if bounces:
        lines += ["", bounces]
    return "\n".join(lines)


def chart_labels() -> dict[str, str]:
    return {
        key: t(f"stats-chart-{key.replace('_', '-')}")
        for key in ("per_link", "people", "clicks", "no_clicks")
    }


def engagement_keyboard(report: EngagementReport) -> InlineKeyboardMarkup:
    mailing_id, run_id = report.mailing.id or 0, report.run.id or 0
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("stats-button-open"),
        callback_data=StatsCD(action=StatsAct.show, mailing_id=mailing_id, run_id=run_id),
    )
    kb.button(
        text=t("stats-button-card"),
        callback_data=MailingCD(action=MailingAct.open, mailing_id=mailing_id),
    )
    kb.adjust(1)
    return kb.as_markup()


async def on_show(
    query: CallbackQuery,
    message: Message,
    callback_data: EngagementCD,
    user: User,
    services: Services,
) -> None:
    """The chart of clicks per link (once anyone clicked), then the figures."""
    cd = callback_data
    report = await engagement_report(
        services.uow_factory,
        services.engagement,
        user.telegram_id,
        cd.mailing_id,
        cd.run_id or None,
    )
    await query.answer()
    if any(link.clicks for link in report.links):
        png = await services.link_chart.link_chart(report.links, chart_labels())
        name = f"mailing-{cd.mailing_id}-run-{report.run.id}-links.png"
        await message.answer_photo(BufferedInputFile(png, name))
    await message.answer(
        engagement_text(report, services.tracking),
        reply_markup=engagement_keyboard(report),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    router.callback_query.register(on_show, EngagementCD.filter(F.action == EngagementAct.show))
    return router
