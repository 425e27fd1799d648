"""Answers per option of a run as a PNG (``domain.ports.answers.AnswerChart``): horizontal bars,
one per answer button in the buttons' order. Drawn like the other charts: matplotlib
imported lazily, in a thread, one drawing at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.answers import OptionCount
from infrastructure.reports.charts import _figure, _locked, _no_data, _png

COLOR = "#5c6bc0"
LABEL_MAX = 40


class MatplotlibAnswerChart:
    """Implements ``domain.ports.answers.AnswerChart``."""

    async def answer_chart(self, counts: Sequence[OptionCount], title: str, empty: str) -> bytes:
        return await asyncio.to_thread(_locked, draw_answers, list(counts), title, empty)


def draw_answers(counts: list[OptionCount], title: str, empty: str) -> bytes:
    fig, canvas = _figure()
    ax = fig.subplots()
    ax.set_title(title)
    if not any(option.count for option in counts):
        _no_data(ax, empty)
        return _png(fig, canvas)
    shown = list(reversed(counts))  # barh draws bottom-up: the first button on top
    rows = range(len(shown))
    bars = ax.barh(list(rows), [option.count for option in shown], color=COLOR)
    ax.bar_label(bars, fontsize="small")
    names = [
        o.label if len(o.label) <= LABEL_MAX else o.label[: LABEL_MAX - 1] + "…" for o in shown
    ]
    ax.set_yticks(list(rows), names)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(x=0.12)
    return _png(fig, canvas)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"
