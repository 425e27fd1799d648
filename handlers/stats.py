"""Statistics of a mailing's runs (from its card), per-recipient exports, and the admins'
``/stats`` per channel. Charts are drawn in a thread by the injected ``chart_drawer``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, FSInputFile, Message

from domain.stats import ExportFormat
from domain.usecases import ab_tests, answers, follow_ups, stats
from domain.users import User
from handlers.callbacks import StatsAct, StatsCD
from handlers.filters import ButtonMessage, IsAdmin, IsStaff
from handlers.follow_ups_kb import follow_up_lines
from handlers.i18n import current_language, t
from handlers.mailing_ab_kb import standing_text
from handlers.replies import show_screen
from handlers.services import Services
from handlers.stats_engagement import with_bounces
from handlers.stats_kb import history_keyboard, report_keyboard
from handlers.stats_text import chart_labels, history_text, report_text, summary_text
from handlers.uploads import fit_for_upload

EXPORTS = {StatsAct.csv: ExportFormat.csv, StatsAct.xlsx: ExportFormat.xlsx}


async def on_show(
    query: CallbackQuery,
    message: Message,
    callback_data: StatsCD,
    user: User,
    services: Services,
) -> None:
    """The chart first, then the figures with the buttons under them."""
    cd = callback_data
    report = await stats.run_report(
        services.uow_factory, services.stats, user.telegram_id, cd.mailing_id, cd.run_id or None
    )
    await query.answer()
    png = await services.chart_drawer.run_chart(
        report, chart_labels(), services.tz, current_language()
    )
    name = f"mailing-{cd.mailing_id}-run-{report.run.id}.png"
    await message.answer_photo(BufferedInputFile(png, name))
    text = await with_bounces(report_text(report, services.tz), services, report.run.id)
    found = await follow_ups.summaries(services.uow_factory, services.stats, report.run.id or 0)
    if found:
        text += "\n\n" + "\n".join(follow_up_lines(found))
    text += await answers_part(message, services, report.run.id or 0)
    standing = None
    if services.ab_tests is not None:
        standing = await ab_tests.standing(
            services.uow_factory, services.ab_tests, user.telegram_id, report.run.id or 0
        )
    winners = 0
    if standing is not None:
        text += "\n" + standing_text(standing, services.tz)
        winners = len(standing.results) if standing.undecided and not report.run.ended else 0
    await message.answer(text, reply_markup=report_keyboard(report, found, winners))


async def on_history(
    query: CallbackQuery,
    message: Message,
    callback_data: StatsCD,
    user: User,
    services: Services,
) -> None:
    cd = callback_data
    mailing, page = await stats.run_history(
        services.uow_factory, services.stats, user.telegram_id, cd.mailing_id, cd.page
    )
    await query.answer()
    markup = history_keyboard(cd.mailing_id, page, services.tz)
    await show_screen(message, history_text(mailing, page), markup, edit=True)


async def on_export(
    query: CallbackQuery,
    message: Message,
    callback_data: StatsCD,
    user: User,
    services: Services,
) -> None:
    """A run's per-recipient rows as CSV or XLSX."""
    cd = callback_data
    fmt = EXPORTS[cd.action]
    # A big report takes a while and a button must be answered within seconds; a refusal
    # found later arrives as a message (see handlers/errors.py).
    await query.answer(t("stats-export-preparing"))
    folder = Path(tempfile.mkdtemp(prefix="mailforge-export-"))
    try:
        path = folder / f"mailing-{cd.mailing_id}-run-{cd.run_id}.{fmt.value}"
        count = await stats.export_run(
            services.uow_factory,
            services.stats,
            services.report_writer,
            actor_id=user.telegram_id,
            mailing_id=cd.mailing_id,
            run_id=cd.run_id,
            fmt=fmt,
            dest=path,
        )
        sendable = await asyncio.to_thread(fit_for_upload, path)
        if sendable is None:
            await message.answer(t("stats-export-too-big", count=count))
            return
        await message.answer_document(
            FSInputFile(sendable, sendable.name), caption=t("stats-export-done", count=count)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def answers_part(message: Message, services: Services, run_id: int) -> str:
    """A run with answer buttons: its chart of answers per option is sent, and the lines
    for the figures are returned."""
    if services.answers is None:
        return ""
    counts = await answers.answer_counts(services.uow_factory, services.answers, run_id)
    if not counts:
        return ""
    total = sum(option.count for option in counts)
    if services.answer_chart is not None:
        title = t("stats-answers-chart")
        png = await services.answer_chart.answer_chart(counts, title, t("stats-no-answers"))
        await message.answer_photo(BufferedInputFile(png, f"run-{run_id}-answers.png"))
    lines = [t("stats-answers", total=total)]
    for option in counts:
        share = round(100 * option.count / total) if total else 0
        lines.append(t("stats-answer", label=option.label, count=option.count, share=share))
    return "\n\n" + "\n".join(lines)


# "/stats tests" counts test sends too; plain "/stats" leaves them out.
WITH_TESTS = frozenset({"tests", "test", "тесты", "тест", "all", "все"})


async def stats_command(
    message: Message, command: CommandObject, user: User, services: Services
) -> None:
    with_tests = (command.args or "").strip().lower() in WITH_TESTS
    summary = await stats.channel_summary(
        services.uow_factory,
        services.stats,
        user.telegram_id,
        services.clock.now(),
        services.tz,
        with_tests=with_tests,
    )
    png = await services.chart_drawer.channel_chart(
        summary, chart_labels(), services.tz, current_language()
    )
    await message.answer_photo(BufferedInputFile(png, "channels.png"))
    await message.answer(summary_text(summary))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(IsStaff, ButtonMessage)
    button = router.callback_query.register
    button(on_show, StatsCD.filter(F.action == StatsAct.show))
    button(on_history, StatsCD.filter(F.action == StatsAct.history))
    button(on_export, StatsCD.filter(F.action.in_(EXPORTS)))
    router.message.register(stats_command, Command("stats"), IsAdmin)
    return router
