"""The live progress message of a run: one message, edited every few seconds.

Telegram limits how often a bot may edit messages (roughly once per second per chat;
bursts get 429), so the watcher edits at most every ``interval`` seconds and only when
the figures changed. It ends with a summary once the run is over.

The message is remembered on the run until its summary is shown, so a restarted bot
follows it again (``resume``) instead of leaving it frozen mid-run.

The summary always reaches the manager: it comes as a new message (an edit makes no
sound, and may land far up the chat) when the progress message is gone or cannot be
edited, after a restart, and for scheduled runs (``announce_end``), whose owner was told
of the start by the message the progress is shown in. The card button of a progress
message opens the card below it instead of editing the progress away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.outage import UNREACHABLE
from domain.ports.stats import EngagementReader, StatsReader
from domain.ports.uow import UnitOfWorkFactory
from domain.runs import MailingRun, ProgressMessage, RunStatus
from domain.usecases import launch, progress, stats
from domain.usecases.engagement_stats import run_engagement
from handlers.callbacks import StatsAct, StatsCD
from handlers.i18n import translate, translate_reason
from handlers.mailings_kb import MailingAct, MailingCD

log = logging.getLogger(__name__)
BAR = 12
FINAL = {RunStatus.completed, RunStatus.cancelled, RunStatus.failed}


def bar(done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else BAR
    return "▰" * filled + "▱" * (BAR - filled)


@dataclass
class Watch:
    run_id: int
    mailing_id: int
    chat_id: int
    message_id: int
    locale: str
    announce_end: bool = False  # the summary comes as a new message too
    header: str = ""  # kept above the progress (a scheduled run's "has started")


class RunWatcher:
    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        uow_factory: UnitOfWorkFactory,
        stats: StatsReader,
        engagement: EngagementReader,
        interval: float = 3.0,
    ) -> None:
        self.bot, self.i18n, self.uow_factory = bot, i18n, uow_factory
        self.stats, self.engagement = stats, engagement
        self.interval = interval
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, watch: Watch) -> None:
        """Follow a run just launched from this chat (remembered on the run first)."""
        self._start(self._remember_and_follow(watch))

    async def resume(self) -> int:
        """At start-up: follow again every run whose summary was not shown yet; how many."""
        runs = await progress.progress_to_follow(self.uow_factory)
        for run in runs:
            if run.id is not None and run.progress is not None:
                shown = run.progress
                watch = Watch(
                    run.id,
                    run.mailing_id,
                    shown.chat_id,
                    shown.message_id,
                    shown.locale,
                    announce_end=True,  # the message may be far up the chat by now
                )
                self._start(self._follow(watch))
        if runs:
            log.info("Following the progress of %d run(s) again", len(runs))
        return len(runs)

    def _start(self, follow: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(follow)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remember_and_follow(self, w: Watch) -> None:
        message = ProgressMessage(w.chat_id, w.message_id, w.locale)
        await progress.show_progress(self.uow_factory, w.run_id, message)
        await self._follow(w)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, w: Watch) -> None:
        shown, told = "", ""
        while True:
            try:
                run = await launch.run_state(self.uow_factory, w.run_id)
            except Exception:  # the database away for a moment: try again next time
                log.warning("Progress of run %s not read; retrying", w.run_id, exc_info=True)
                await asyncio.sleep(self.interval)
                continue
            if run is None:
                return
            final = run.status in FINAL
            text = self.text(run, w.locale, _elapsed(run))
            text += await self._bounced_later(run, w.locale)
            if final and run.problem is None and run.totals.failed + run.totals.refused:
                text += await self._main_reason(run, w.locale)
            back = final and not run.problem and told.startswith(UNREACHABLE)
            if back:  # the channel came back and the rest went out between two looks
                await self._tell_problem(w, run, told)
                told = ""
            if text != shown:
                shown = text
                edited = await self._edit(w, w.header + text, self.keyboard(w, run, final))
                if final and (w.announce_end or not edited):
                    await self._send_summary(w, text, self.keyboard(w, run, final))
            if run.problem != told and not final:
                # The engine paused it, or its channel cannot be reached, or is back: a
                # new message, so that it is heard (an edit makes no sound).
                await self._tell_problem(w, run, told)
                told = run.problem or ""
            if final:
                await progress.show_progress(self.uow_factory, w.run_id, None)
                return
            await asyncio.sleep(self.interval)

    async def _tell_problem(self, w: Watch, run: MailingRun, told: str) -> None:
        """The channel cannot send at all (``domain.usecases.halt``: why, and Resume), or
        cannot be reached (``domain.outage``), or can be reached again."""
        name = escape(str(run.content.get("mailing_name", "")))
        if not run.problem:
            if not told.startswith(UNREACHABLE):
                return
            key, why = "run-reachable", ""
        else:
            why = escape(translate_reason(self.i18n, run.problem, w.locale))
            key = "run-unreachable" if run.problem.startswith(UNREACHABLE) else "run-halted"
            if key == "run-halted" and run.status is not RunStatus.paused:
                return
        text = translate(self.i18n, key, w.locale, {"name": name, "problem": why})
        try:
            await self.bot.send_message(
                w.chat_id, text, reply_markup=self.keyboard(w, run, final=run.status in FINAL)
            )
        except TelegramAPIError as exc:
            log.warning("Could not tell chat %s that run %s paused: %s", w.chat_id, w.run_id, exc)

    async def _bounced_later(self, run: MailingRun, locale: str) -> str:
        """Email refused after the relay took it (a bounce came back): the refused count
        says how many, this line how many of them were first counted as delivered."""
        if not run.totals.refused or run.id is None:
            return ""
        try:
            bounced = (await run_engagement(self.engagement, run.id)).bounced
        except Exception:  # the database away for a moment: the line comes next time
            log.warning("Bounces of run %s not read", run.id, exc_info=True)
            return ""
        if not bounced:
            return ""
        return "\n" + translate(self.i18n, "run-bounced-later", locale, {"count": bounced})

    async def _main_reason(self, run: MailingRun, locale: str) -> str:
        """Why most of a finished run's recipients were not reached (a sender Sendsay has
        not confirmed, a wrong key…): the manager sees it without opening statistics."""
        assert run.id is not None
        reason = await stats.main_failure(self.stats, run.id)
        if reason is None or not reason.error:
            return ""
        why = escape(translate_reason(self.i18n, reason.error, locale))
        return "\n" + translate(self.i18n, "run-main-reason", locale, {"reason": why})

    def text(self, run: MailingRun, locale: str, elapsed: float) -> str:
        tot = run.totals
        done, total = tot.done, tot.total
        rate = done / elapsed if elapsed > 0 else 0.0
        left = tot.pending + tot.sending
        eta = f"{int(left / rate // 60)}:{int(left / rate % 60):02d}" if rate > 0 else "—"
        # An A/B test's rest is held until its winner (hours): no rate nor ETA, so the
        # message stays the same, unedited, while it waits.
        waiting = run.ab_due_at is not None and run.ab_result is None
        shown_rate = "—" if waiting else f"{rate:.1f}"
        eta = "—" if waiting else eta
        key = "run-summary" if run.status in FINAL else "run-progress"
        if run.is_follow_up:  # a recall's own wording: deleted, not delivered
            key = f"followup-{run.kind.value}-{key.removeprefix('run-')}"
        text = translate(
            self.i18n,
            key,
            locale,
            {
                "bar": bar(done, total),
                "done": done,
                "total": total,
                "delivered": tot.delivered,
                "failed": tot.failed,
                "refused": tot.refused,
                "pending": left,
                "rate": shown_rate,
                "eta": eta,
                "status": translate(self.i18n, f"run-status-{run.status.value}", locale),
                "source": run.source_run_id or 0,
            },
        )
        if waiting and run.status not in FINAL:
            text = f"{text}\n{translate(self.i18n, 'ab-progress-waiting', locale)}"
        if run.problem:  # e.g. Sendsay refused our key: say what to fix
            why = escape(translate_reason(self.i18n, run.problem, locale))
            problem = translate(self.i18n, "run-problem", locale, {"problem": why})
            text = f"{text}\n{problem}"
        return text

    def keyboard(self, w: Watch, run: MailingRun, final: bool) -> InlineKeyboardMarkup | None:
        kb = InlineKeyboardBuilder()
        if not final and not run.is_test and not run.is_follow_up:
            toggle = MailingAct.resume if run.status is RunStatus.paused else MailingAct.pause
            for action in (toggle, MailingAct.cancel):
                kb.button(
                    text=translate(self.i18n, f"mailings-button-{action.value}", w.locale),
                    callback_data=MailingCD(action=action, mailing_id=w.mailing_id),
                )
        if final:
            kb.button(
                text=translate(self.i18n, "stats-button-open", w.locale),
                callback_data=StatsCD(
                    action=StatsAct.show, mailing_id=w.mailing_id, run_id=w.run_id
                ),
            )
        kb.button(
            text=translate(self.i18n, "run-button-card", w.locale),
            callback_data=MailingCD(action=MailingAct.card, mailing_id=w.mailing_id),
        )
        kb.adjust(2, 1, 1)
        return kb.as_markup()

    async def _edit(self, w: Watch, text: str, markup: InlineKeyboardMarkup | None) -> bool:
        """Whether the progress message shows ``text`` now (False: gone, or not editable)."""
        for _ in range(2):
            try:
                await self.bot.edit_message_text(
                    text, chat_id=w.chat_id, message_id=w.message_id, reply_markup=markup
                )
                return True
            except TelegramRetryAfter as exc:  # flood control: wait, try once more
                await asyncio.sleep(exc.retry_after)
            except TelegramAPIError as exc:
                if "message is not modified" in str(exc):
                    return True
                log.debug("Progress edit for run %s skipped: %s", w.run_id, exc)
                return False
        return False

    async def _send_summary(
        self, w: Watch, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            await self.bot.send_message(w.chat_id, text, reply_markup=markup)
        except TelegramAPIError as exc:  # blocked the bot, or the chat is gone
            log.warning("Summary of run %s not sent to chat %s: %s", w.run_id, w.chat_id, exc)


def _elapsed(run: MailingRun) -> float:
    """Seconds the run has been sending (from its start, so a restart keeps the rate)."""
    started = run.started_at or run.scheduled_for
    end = run.finished_at or datetime.now(UTC)
    return max((end - started).total_seconds(), 0.0)
