"""Follow-ups: acting on the Telegram copies a send run delivered (recall, edit).

Telegram lets a bot delete its messages for 48 hours after sending
(https://core.telegram.org/bots/api#deletemessage: "A message can only be deleted if it
was sent less than 48 hours ago"). Copies older than that are *kept*: they are recorded
as failed with ``KEPT`` as the reason, so the run's card and export say so per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from domain.answers import ANSWER_RUN, ANSWERS
from domain.content import CAPTION_LIMIT, TEXT_LIMIT, check_html, visible_length, visible_text
from domain.delivery import RunContent
from domain.errors import IllegalTransition, InvalidInput
from domain.mailings import Channel
from domain.media import delivered_caption, text_editable
from domain.runs import MailingRun, RunKind, RunStatus

RECALL_WINDOW = timedelta(hours=48)
KEPT = "kept: sent more than 48 hours ago"
# A follow-up acts on a send run that is over: never on copies still being sent.
ACTED_ON = frozenset({RunStatus.completed, RunStatus.cancelled, RunStatus.failed})
BUSY = frozenset({RunStatus.running, RunStatus.paused})


def is_caption(source: MailingRun) -> bool:
    """Whether the send run's copies carry their text as a caption (a media message, or a
    copy of one)."""
    return delivered_caption(RunContent.from_json(source.content).media)


def check_text_editable(source: MailingRun) -> None:
    """A sticker or a video note has no text to fix: refused with the reason."""
    if not text_editable(RunContent.from_json(source.content).media):
        raise InvalidInput("followup-edit-no-text")


def kept_before(kind: RunKind, now: datetime) -> datetime | None:
    """Copies delivered before this moment are out of reach (recall only)."""
    return now - RECALL_WINDOW if kind is RunKind.recall else None


def check_source(run: MailingRun, follow_ups: list[MailingRun]) -> None:
    """A run a follow-up may act on: a finished Telegram send run with delivered copies and
    no other follow-up in progress. Raises with the reason's message key."""
    if run.is_follow_up:
        raise InvalidInput("followup-not-a-send")
    if RunContent.from_json(run.content).channel is not Channel.telegram:
        raise InvalidInput("followup-telegram-only")
    if run.status not in ACTED_ON:
        raise IllegalTransition("followup-still-sending")
    if not run.totals.delivered:
        raise InvalidInput("followup-nothing-delivered")
    if any(other.status in BUSY for other in follow_ups):
        raise IllegalTransition("followup-busy")


def follow_up_content(source: MailingRun, kind: RunKind) -> RunContent:
    """What a follow-up sends: the send run's content, never as a paid broadcast (deletes
    and edits are not broadcasts), marked with its kind."""
    return replace(RunContent.from_json(source.content), paid=False, kind=kind)


def check_new_text(body: str, rendered: str, *, caption: bool) -> None:
    """A fixed text Telegram will take: valid HTML, not empty, within the text (4096) or,
    for a media message, the caption (1024) limit once placeholders are filled."""
    problem = check_html(body)
    if problem is not None:
        raise InvalidInput(problem.key, detail=problem.detail)
    length = visible_length(rendered)
    if not visible_text(rendered).strip():
        raise InvalidInput("followup-edit-empty")
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if length > limit:
        raise InvalidInput("followup-edit-too-long", length=length, limit=limit)


def edited_content(source: MailingRun, body: str, *, keep_buttons: bool) -> RunContent:
    """An edit's content: the new text, the send run's buttons kept or removed."""
    content = follow_up_content(source, RunKind.edit)
    options = dict(content.options)
    if not keep_buttons:
        options.pop("buttons", None)
        options.pop(ANSWERS, None)
    options[ANSWER_RUN] = source.id  # answers still go to the send run
    return replace(content, body=body, options=options, links=())


AUTODELETE = "autodelete_hours"  # the mailing option: hours after the run starts
AUTODELETE_HOURS = range(1, 48)  # Telegram deletes for 48 hours: 47 at most
AUTODELETE_CHOICES = (None, 1, 3, 6, 12, 24, 47)  # what the dialog's button cycles through
PIN = "pin"  # the mailing option: pin each copy (silently)


def autodelete_hours(options: Mapping[str, Any]) -> int | None:
    """The auto-delete delay a mailing's options ask for; ``None`` if off or invalid."""
    hours = options.get(AUTODELETE)
    if isinstance(hours, int) and not isinstance(hours, bool) and hours in AUTODELETE_HOURS:
        return hours
    return None


def next_autodelete(options: Mapping[str, Any]) -> int | None:
    """The next choice of the dialog's auto-delete button (off after the last)."""
    current = autodelete_hours(options)
    if current not in AUTODELETE_CHOICES:
        return AUTODELETE_CHOICES[1]
    return AUTODELETE_CHOICES[(AUTODELETE_CHOICES.index(current) + 1) % len(AUTODELETE_CHOICES)]


def autodelete_at(content: RunContent, started: datetime, *, test: bool) -> datetime | None:
    """When a run's copies delete themselves: ``hours`` after it starts (the recall then
    goes at the pace and in the order of the sending, so each copy lives about that
    long). Telegram runs only, never a test send."""
    hours = autodelete_hours(content.options)
    if test or hours is None or content.channel is not Channel.telegram:
        return None
    return started + timedelta(hours=hours)
