"""Answer buttons: a mailing's copies may carry up to 8 buttons a recipient answers with
("👍 / 👎", "Sign me up / Not now"). A press is recorded once per recipient (a second press
changes the answer) and counted per option.

A button carries ``a:<run id>:<option>`` as its callback data (Telegram allows 1–64 bytes,
https://core.telegram.org/bots/api#inlinekeyboardbutton); its label is held to the same
64 bytes. Whatever a press carries is checked against the run: the presser must have a
delivered copy of that run, and the pressed message must be that copy; anything else
(forged, stale, another run's) is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput

ANSWERS = "answers"  # the mailing option: the labels, in order
ANSWER_RUN = "answer_run_id"  # an edit's copies answer to the send run, not to the edit
MAX_ANSWERS = 8
LABEL_BYTES = 64
SEPARATOR = "|"


def clean_answers(text: str) -> list[str]:
    """``"👍 | 👎"`` → ``["👍", "👎"]``; ``-`` removes them. Refused: more than 8,
    an empty label, a label over 64 bytes, the same label twice."""
    if text.strip() in ("", "-"):
        return []
    labels = [" ".join(part.split()) for part in text.split(SEPARATOR)]
    if len(labels) > MAX_ANSWERS:
        raise InvalidInput("answers-too-many", count=len(labels), max=MAX_ANSWERS)
    for label in labels:
        if not label:
            raise InvalidInput("answers-empty-label")
        size = len(label.encode("utf-8"))
        if size > LABEL_BYTES:
            raise InvalidInput("answers-label-too-long", label=label, size=size, max=LABEL_BYTES)
    if len(set(labels)) != len(labels):
        raise InvalidInput("answers-twice")
    return labels


def answer_labels(options: Mapping[str, Any]) -> list[str]:
    labels = options.get(ANSWERS)
    return [str(label) for label in labels] if isinstance(labels, list) else []


def callback_data(run_id: int, option: int) -> str:
    return f"a:{run_id}:{option}"


@dataclass(frozen=True, slots=True)
class OptionCount:
    """Recipients who answered with one button of a run."""

    label: str
    count: int
