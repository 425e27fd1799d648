"""Where a run's live progress is shown, kept on the run until its summary, so that a
restarted bot goes on editing the same message (``handlers.run_progress``)."""

from __future__ import annotations

from domain.ports.uow import UnitOfWorkFactory
from domain.runs import MailingRun, ProgressMessage


async def show_progress(
    uow_factory: UnitOfWorkFactory, run_id: int, message: ProgressMessage | None
) -> None:
    """Remember the message (None: the summary is shown, forget it)."""
    async with uow_factory() as uow:
        await uow.runs.show_progress(run_id, message)
        await uow.commit()


async def progress_to_follow(uow_factory: UnitOfWorkFactory) -> list[MailingRun]:
    """Runs whose progress message still waits for its summary (the watcher checked the
    rights when it began following them)."""
    async with uow_factory() as uow:
        return await uow.runs.with_progress()
