"""What the first recipient will receive, who else gets it, and what may go wrong.

Warnings never block saving a draft; the launch refuses the blocking ones (the
delivery engine checks them again before it sends anything).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from domain.answers import answer_labels
from domain.clock import SystemClock
from domain.content import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    check_html,
    has_encoded_link_placeholder,
    one_line,
    runs_as_sendsay_code,
    visible_length,
    visible_text,
)
from domain.errors import InvalidInput
from domain.mailings import CHANNEL_KINDS, Channel, Mailing
from domain.media import caption_refused, is_album, is_copy, takes_caption
from domain.paid import PaidEstimate, sent_paid
from domain.personal import recipient_values, render_personal
from domain.ports.channels import PaidBroadcasts
from domain.ports.rendering import MessageRenderer
from domain.ports.uow import UnitOfWork, UnitOfWorkFactory
from domain.recipients import AddressKind, Audience
from domain.segments import TAGS, local_today
from domain.targeting import Targeting
from domain.unsubscribe import PLACEHOLDER as UNSUBSCRIBE
from domain.usecases.mailings import load_own, needs_subject

# A template over a render's hard limit (``MessageRenderer``): its own notice.
TEMPLATE_LIMITS = frozenset(
    {"content-template-steps", "content-template-chars", "content-template-time"}
)
# Warnings that make a launch impossible (the others are for the manager to judge).
BLOCKING = TEMPLATE_LIMITS | frozenset(
    {
        "preview-no-body",
        "preview-no-subject",
        "preview-no-lists",
        "preview-empty-audience",
        "preview-segment-unknown-field",
        "preview-too-long",
        "preview-template-error",
        "preview-channel-unavailable",
        "preview-sendsay-code",
        "preview-unsubscribe-email-only",
        "preview-link-placeholder-encoded",
        "preview-stars-short",
        "preview-stars-unknown",
        "media-caption-refused",
        "media-album-no-buttons",
    }
    | {
        "content-html-unknown-tag",
        "content-html-link-without-href",
        "content-html-unbalanced",
        "content-html-stray-bracket",
    }
)


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.key in BLOCKING


@dataclass(frozen=True, slots=True)
class Preview:
    mailing: Mailing
    audience: Audience
    body: str  # rendered for the first recipient (or the raw template with nobody)
    subject: str | None
    warnings: list[Notice]
    paid: PaidEstimate | None = None  # a fast mailing sent as paid broadcasts

    @property
    def can_launch(self) -> bool:
        return not any(w.blocking for w in self.warnings)


# What only the recipients in the lists are concerned by: a test goes to its sender.
AUDIENCE_CHECKS = frozenset(
    {"preview-no-lists", "preview-empty-audience", "preview-segment-unknown-field"}
)


def stopper(preview: Preview, *, to_lists: bool = True) -> Notice | None:
    """The first warning that stops a launch (the Launch button, a scheduled slot, and a
    test send, whose audience is its sender alone: ``to_lists=False``)."""
    for warning in preview.warnings:
        if warning.blocking and (to_lists or warning.key not in AUDIENCE_CHECKS):
            return warning
    return None


async def build(
    uow_factory: UnitOfWorkFactory,
    renderer: MessageRenderer,
    actor_id: int,
    mailing_id: int,
    available: frozenset[Channel],
    paid: PaidBroadcasts | None = None,
) -> Preview:
    """The preview of a mailing the caller may see."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        return await inspect(uow, renderer, mailing, available, paid)


async def inspect(
    uow: UnitOfWork,
    renderer: MessageRenderer,
    mailing: Mailing,
    available: frozenset[Channel],
    paid: PaidBroadcasts | None = None,
) -> Preview:
    """The preview of ``mailing``, read through ``uow`` (no rights checked: the caller did,
    or it is the schedule). With ``paid``, a fast mailing's most cost is weighed against
    the bot's Stars (a launch the balance cannot cover is blocked); without it (the
    dialog's steps, a test send) not."""
    kinds, target, today = _audience_keys(mailing)
    audience = await uow.audiences.audience(mailing.list_ids, kinds, target, today)
    used = _placeholders(renderer, mailing.body + (mailing.subject or ""))
    missing = await uow.audiences.missing_attributes(
        mailing.list_ids, kinds, sorted(used - {"address", "email", UNSUBSCRIBE}), target, today
    )
    warnings = _static_warnings(mailing, audience, available)
    if UNSUBSCRIBE in used and mailing.channel is not Channel.email:
        warnings.append(Notice("preview-unsubscribe-email-only"))
    unknown = sorted(target.fields - {TAGS} - set(await uow.audiences.fields(mailing.list_ids)))
    if unknown and mailing.list_ids:  # a list with the field was taken out since
        warnings.append(Notice("preview-segment-unknown-field", {"field": unknown[0]}))
    values = recipient_values(audience.first) if audience.first else {}
    # Rendering is CPU work (up to the renderer's limits): other chats go on meanwhile.
    body, subject, problems = await asyncio.to_thread(content_notices, renderer, mailing, values)
    warnings += problems
    if subject is not None and one_line(subject) != subject:
        warnings.append(Notice("preview-subject-line-break"))
        subject = one_line(subject)
    if is_copy(mailing.media):  # sent as it is: placeholders stay as typed
        warnings.append(Notice("media-copy-as-is", {"placeholders": len(used)}))
        missing = {}
    for key, count in sorted(missing.items()):
        if count:
            warnings.append(Notice("preview-missing-placeholder", {"name": key, "count": count}))
    estimate = None
    if paid is not None and sent_paid(mailing, paid.rate):
        estimate = PaidEstimate(paid.rate, audience.reachable, await paid.balance())
        warnings += _paid_warnings(estimate)
    return Preview(mailing, audience, body, subject, warnings, estimate)


def _audience_keys(mailing: Mailing) -> tuple[list[AddressKind], Targeting, date]:
    """What the audience of ``mailing`` is asked with: kinds, segment and local date."""
    kinds = [AddressKind(k) for k in CHANNEL_KINDS[mailing.channel]]
    today = local_today(mailing.schedule.timezone, SystemClock().now())
    return kinds, mailing.targeting, today


def content_notices(
    renderer: MessageRenderer, mailing: Mailing, values: dict[str, Any]
) -> tuple[str, str | None, list[Notice]]:
    """The body and subject rendered for ``values``, and what the content alone earns: a
    template that does not render, broken HTML, a Telegram text or caption over its limit
    (all blocking)."""
    notices: list[Notice] = []
    body, subject = mailing.body, mailing.subject
    if is_copy(mailing.media):  # sent as it is: nothing is rendered
        return body, subject, notices
    if caption_refused(mailing.media) and visible_text(body).strip():
        notices.append(Notice("media-caption-refused"))
    try:
        personal = render_personal(renderer, mailing.channel, body, subject, values)
        body, subject = personal.body, personal.subject
    except InvalidInput as exc:
        key = exc.key if exc.key in TEMPLATE_LIMITS else "preview-template-error"
        notices.append(Notice(key, dict(exc.params)))
    problem = check_html(body) if body else None
    if problem is not None:
        notices.append(Notice(problem.key, {"detail": problem.detail}))
    limit = CAPTION_LIMIT if takes_caption(mailing.media) else TEXT_LIMIT
    if mailing.channel is Channel.telegram and visible_length(body) > limit:
        length = visible_length(body)
        notices.append(Notice("preview-too-long", {"length": length, "limit": limit}))
    return body, subject, notices


async def check_content(
    uow_factory: UnitOfWorkFactory,
    renderer: MessageRenderer,
    actor_id: int,
    mailing_id: int,
    body: str,
    media: dict[str, Any] | None,
) -> Notice | None:
    """The content step refuses what the preview would block, with the same notice: the
    new content is rendered for the same sample recipient (the first in the lists)."""
    async with uow_factory() as uow:
        _, mailing = await load_own(uow, actor_id, mailing_id)
        candidate = replace(mailing, body=body, media=media, template_id=None)
        audience = await uow.audiences.audience(mailing.list_ids, *_audience_keys(mailing))
    values = recipient_values(audience.first) if audience.first else {}
    _, _, problems = await asyncio.to_thread(content_notices, renderer, candidate, values)
    return next(iter(problems), None)


def _paid_warnings(estimate: PaidEstimate) -> list[Notice]:
    if estimate.balance is None:
        return [Notice("preview-stars-unknown")]
    if not estimate.covered:
        cost, balance = f"{estimate.cost:,}", f"{estimate.balance:,}"
        return [Notice("preview-stars-short", {"cost": cost, "balance": balance})]
    return []


def _placeholders(renderer: MessageRenderer, text: str) -> set[str]:
    try:
        return renderer.placeholders(text)
    except InvalidInput:
        return set()


def _static_warnings(
    mailing: Mailing, audience: Audience, available: frozenset[Channel]
) -> list[Notice]:
    warnings: list[Notice] = []
    if mailing.channel not in available:
        warnings.append(Notice("preview-channel-unavailable", {"channel": mailing.channel.value}))
    if not mailing.body.strip() and not mailing.media:
        warnings.append(Notice("preview-no-body"))
    if is_album(mailing.media) and (
        mailing.options.get("buttons") or answer_labels(mailing.options)
    ):
        warnings.append(Notice("media-album-no-buttons"))
    if needs_subject(mailing.channel) and not mailing.subject:
        warnings.append(Notice("preview-no-subject"))
    if not mailing.list_ids:
        warnings.append(Notice("preview-no-lists"))
    elif audience.reachable == 0:
        warnings.append(Notice("preview-empty-audience"))
    if mailing.channel is Channel.sendsay:
        warnings += _sendsay_warnings(mailing)
    if audience.suppressed:
        warnings.append(Notice("preview-suppressed", {"count": audience.suppressed}))
    if audience.other_kinds:
        warnings.append(Notice("preview-other-kinds", {"count": audience.other_kinds}))
    return warnings


def _sendsay_warnings(mailing: Mailing) -> list[Notice]:
    """Sendsay would run ``[% … %]`` as its own template code, and a link whose placeholder
    Telegram encoded would reach everyone with the raw braces: both are refused."""
    warnings = []
    if runs_as_sendsay_code(mailing.body, mailing.subject or ""):
        warnings.append(Notice("preview-sendsay-code"))
    if has_encoded_link_placeholder(mailing.body):
        warnings.append(Notice("preview-link-placeholder-encoded"))
    return warnings
