"""The A/B test screen of the lists step (its text and buttons), the verdict's words, and
the winner buttons of a run's statistics card (``domain.ab_test``)."""

from __future__ import annotations

from datetime import tzinfo
from enum import StrEnum
from html import escape

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from domain.ab_test import ABTest, Decision, Part, VariantResult, letter, parts_for
from domain.content import visible_text
from domain.mailings import Mailing
from domain.usecases.ab_tests import Standing
from handlers.i18n import local_time, t

SHOWN = 60  # characters of a variant on the screen


class ABAct(StrEnum):
    """Values travel in callback data: keep them."""

    open = "open"  # the A/B screen
    add = "add"  # ask a variant (value: the part)
    drop = "drop"  # remove a variant (value: 1 = B)
    sample = "sample"  # ask the sample's share
    wait = "wait"  # ask the waiting time
    metric = "metric"  # the next metric
    remove = "remove"  # no test
    done = "done"  # back to the lists


class ABCD(CallbackData, prefix="ab"):
    action: ABAct
    value: str = ""


class WinnerCD(CallbackData, prefix="abw"):
    """Send ``variant`` of ``run_id``'s test to the rest now. Untrusted: the use case
    checks the caller's rights."""

    run_id: int
    variant: int


def _button(
    kb: InlineKeyboardBuilder, key: str, action: ABAct, value: str = "", **kw: object
) -> None:
    kb.button(text=t(key, **kw), callback_data=ABCD(action=action, value=value))


def state_label(test: ABTest | None) -> str:
    return t("ab-state-on", count=test.count) if test else t("off")


def wait_label(test: ABTest) -> str:
    minutes = int(test.wait.total_seconds() // 60)
    if minutes % 1440 == 0:
        return t("ab-days", days=minutes // 1440)
    if minutes % 60 == 0:
        return t("ab-hours", hours=minutes // 60)
    return t("ab-minutes", minutes=minutes)


def ab_text(mailing: Mailing, test: ABTest | None, sample: int, reachable: int) -> str:
    lines = [t("ab-title")]
    if test is None:
        lines.append(t("ab-none"))
        return "\n".join(lines)
    lines.append(t("ab-changes", part=t(f"ab-part-{test.part.value}")))
    for index, variant in enumerate(test.variants(mailing.subject, mailing.body)):
        body = visible_text(variant.body)  # plain: a cut must not break a tag
        shown = variant.subject if test.part is Part.subject else body
        if test.part is Part.both:
            shown = f"{variant.subject} / {body}"
        lines.append(f"<b>{letter(index)}</b>: {escape(_cut(shown or ''))}")
    share = f"{test.percent:g}"
    lines.append("")
    lines.append(
        t(
            "ab-sample-line",
            percent=share,
            size=sample,
            reachable=reachable,
            each=sample // test.count,
        )
    )
    lines.append(t("ab-wait-line", wait=wait_label(test), metric=t(f"ab-metric-{test.metric}")))
    return "\n".join(lines)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def ab_keyboard(mailing: Mailing, test: ABTest | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    rows: list[int] = []
    if test is None:
        for part in parts_for(mailing.channel):
            _button(kb, f"ab-add-{part.value}", ABAct.add, part.value)
            rows.append(1)
    else:
        if test.count < 4:
            _button(kb, "ab-add-more", ABAct.add, test.part.value)
            rows.append(1)
        for index in range(1, test.count):
            _button(kb, "ab-drop", ABAct.drop, str(index), name=letter(index))
        rows.append(test.count - 1)
        _button(kb, "ab-sample-button", ABAct.sample, percent=f"{test.percent:g}")
        _button(kb, "ab-wait-button", ABAct.wait, wait=wait_label(test))
        _button(kb, "ab-metric-button", ABAct.metric, metric=t(f"ab-metric-{test.metric}"))
        _button(kb, "ab-remove", ABAct.remove)
        rows += [1, 1, 1, 1]
    _button(kb, "ab-done", ABAct.done)
    rows.append(1)
    kb.adjust(*rows)
    return kb.as_markup()


def _rate(result: VariantResult) -> str:
    return f"{result.rate * 100:.1f}"


def result_lines(results: tuple[VariantResult, ...] | list[VariantResult]) -> list[str]:
    return [
        t("ab-result-line", name=letter(i), hits=r.hits, sent=r.sent, rate=_rate(r))
        for i, r in enumerate(results)
    ]


def decision_text(name: str, decision: Decision, released: int | None = None) -> str:
    """Which variant won, by how much, with the counts (and a note when it is chance)."""
    key = "ab-won-by-hand" if decision.by_hand else "ab-won"
    lines = [
        t(
            key,
            name=name,
            winner=letter(decision.winner),
            metric=t(f"ab-metric-{decision.metric}"),
            margin=f"{decision.margin * 100:+.1f}",
        )
    ]
    lines += result_lines(decision.results)
    if decision.within_chance:
        lines.append(t("ab-within-chance"))
    if released is not None:
        lines.append(t("ab-released", count=released))
    return "\n".join(lines)


def winner_buttons(kb: InlineKeyboardBuilder, run_id: int, count: int) -> int:
    """ "Send B to the rest" per variant on a run's card; how many were added."""
    for index in range(count):
        kb.button(
            text=t("ab-pick", name=letter(index)),
            callback_data=WinnerCD(run_id=run_id, variant=index),
        )
    return count


def standing_text(standing: Standing, tz: tzinfo) -> str:
    """A run's test on its statistics card: per variant now, and the verdict."""
    metric = t(f"ab-metric-{standing.metric}")
    lines = ["", t("ab-stats-title", metric=metric)]
    decision = standing.decision
    if decision is None:
        if standing.due_at is not None:
            lines.append(t("ab-stats-waiting", time=local_time(standing.due_at, tz)))
        return "\n".join(lines + result_lines(standing.results))
    key = "ab-stats-picked" if decision.by_hand else "ab-stats-won"
    lines.append(t(key, winner=letter(decision.winner), margin=f"{decision.margin * 100:+.1f}"))
    lines += result_lines(decision.results)
    if decision.within_chance:
        lines.append(t("ab-within-chance"))
    lines.append(t("ab-stats-now"))
    return "\n".join(lines + result_lines(standing.results))
