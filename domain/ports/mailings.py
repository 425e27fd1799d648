"""Mailings, their templates and runs (``usecases.mailings``, ``launch``, ``schedules``,
``templates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.mailings import Mailing, MailingStatus, Ownership
from domain.pagination import Page
from domain.runs import (
    MailingRun,
    ProgressMessage,
    RunStatus,
)
from domain.templates import Template


class TemplateRepository(Protocol):
    async def get(self, template_id: int) -> Template | None: ...

    async def add(self, template: Template) -> Template: ...

    async def update(self, template: Template) -> None: ...

    async def delete(self, template_id: int) -> None: ...

    async def all(self) -> list[Template]: ...


class MailingRepository(Protocol):
    """The Mailing aggregate, including its target list ids."""

    async def get(self, mailing_id: int) -> Mailing | None: ...

    async def add(self, mailing: Mailing) -> Mailing: ...

    async def update(self, mailing: Mailing) -> None: ...

    async def delete(self, mailing_id: int) -> None: ...

    async def search(
        self,
        *,
        owner_id: int | None,
        status: MailingStatus | None,
        page: int,
        size: int,
        include_archived: bool = False,
    ) -> Page[Mailing]:
        """Newest first; ``owner_id=None`` means every owner."""
        ...

    async def using_list(self, list_id: int, statuses: Sequence[MailingStatus]) -> list[Mailing]:
        """Mailings (not archived) that target ``list_id`` with one of ``statuses``."""
        ...

    async def name_taken(
        self, owner_id: int, name: str, exclude_id: int | None = None
    ) -> bool: ...


class RunRepository(Protocol):
    """Runs of mailings; unique on (mailing_id, scheduled_for)."""

    async def get(self, run_id: int) -> MailingRun | None: ...

    async def get_with_ownership(self, run_id: int) -> tuple[MailingRun, Ownership] | None:
        """The run and its mailing's ownership, in one read (``GET /runs/{id}``)."""

    async def add(self, run: MailingRun) -> MailingRun | None:
        """Insert a run; returns ``None`` if that (mailing, slot) already has one."""
        ...

    async def update(self, run: MailingRun) -> None: ...

    async def for_mailing(self, mailing_id: int, limit: int = 20) -> list[MailingRun]: ...

    async def last_for_mailing(self, mailing_id: int) -> MailingRun | None: ...

    async def follow_ups(self, source_run_id: int) -> list[MailingRun]:
        """The follow-up runs (recalls, edits) of a send run, oldest first; ``for_mailing``
        and ``last_for_mailing`` list send runs only."""
        ...

    async def due_autodeletes(self, now: datetime) -> list[MailingRun]:
        """Finished send runs whose ``autodelete_at`` is at or before ``now``."""
        ...

    async def show_progress(self, run_id: int, message: ProgressMessage | None) -> None:
        """Remember (or forget, with None) the message the run's progress is shown in."""
        ...

    async def with_progress(self) -> list[MailingRun]:
        """Runs whose progress message still waits for its summary."""
        ...

    async def with_status(self, status: RunStatus) -> list[MailingRun]: ...

    async def complete_drained(self, now: datetime) -> list[MailingRun]:
        """Mark running runs with nothing pending or sending as completed at ``now``, in
        this unit of work; the runs so marked (by id). Concurrent callers never both
        get the same run."""
        ...
