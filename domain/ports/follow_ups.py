"""Recalls and edits of delivered Telegram copies (``usecases.follow_ups``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.runs import (
    FollowUpStart,
    MailingRun,
)


class FollowUpQueue(Protocol):
    """Follow-up runs (recall, edit) of a send run's delivered Telegram copies, in the
    same ``deliveries`` work queue: workers claim, send and record them like any run.
    Each method is one short transaction of its own."""

    async def start(
        self, run: MailingRun, kept_before: datetime | None, *, auto: bool = False
    ) -> FollowUpStart | None:
        """With ``auto`` (an auto-delete), only if the send run's ``autodelete_at`` is
        still set, and it is cleared in the same transaction: the first caller starts
        it, any other gets ``None``. In one transaction: insert ``run`` (a follow-up of
        ``run.source_run_id``), one pending delivery per copy of that run still in its
        chat (delivered, its message id kept, not recalled by an earlier recall), each
        carrying the message id, and start it. Copies delivered before ``kept_before`` go
        in as failed, "kept" (their window has closed). ``None``, and nothing written
        (but a claimed auto-delete), when no copy is left."""
        ...

    async def targets(self, delivery_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        """The message ids each follow-up delivery acts on, in order (several for an
        album: ``domain.media.message_ids``); deliveries without one are left out."""
        ...
