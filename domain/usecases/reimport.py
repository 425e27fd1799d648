""" "Update from source": a list fetched again from where it came from, by its source's kind.

- a link (``url``) is downloaded again, another service's list (``sendsay``) exported
  again, and either is imported with ``sync``: new members are added, known ones
  updated, and those the source no longer holds are counted (``ImportReport.gone``) for
  the manager to remove or keep (``lists.remove_gone``);
- the bot's subscribers (``subscribers``) are added again;
- a file (``file``) or a list typed by hand (``manual``) cannot be fetched: the manager
  sends the file again (``Reimported.needs_file``), imported the same way.

The caller may view the list (any member of staff); the list keeps its source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from domain.errors import NotFound
from domain.imports import ImportReport, ImportSource, ProgressCallback, RejectedLabels
from domain.ports.imports import ExternalListSource, RecipientImporter, RemoteFileFetcher
from domain.ports.uow import UnitOfWorkFactory
from domain.recipients import ListSourceKind, RecipientList
from domain.usecases import lists
from domain.usecases.access import require_staff

FETCHED = frozenset({ListSourceKind.url, ListSourceKind.sendsay})


@dataclass(frozen=True, slots=True)
class Sources:
    """Where lists are fetched from again."""

    links: RemoteFileFetcher
    external: ExternalListSource  # Sendsay (refuses when it is not configured)


@dataclass(frozen=True, slots=True)
class Reimported:
    kind: ListSourceKind
    report: ImportReport | None = None  # a link's or an external list's import
    added: int = 0  # subscribers added again

    @property
    def needs_file(self) -> bool:
        """Nothing could be fetched (a file, a list typed by hand, a source without its
        address): the manager sends the file again."""
        return self.report is None and self.kind is not ListSourceKind.subscribers


def refetchable(rlist: RecipientList) -> bool:
    """Whether "Update from source" can fetch the list by itself (no file needed)."""
    if rlist.source_kind is ListSourceKind.subscribers:
        return True
    return rlist.source_kind in FETCHED and bool(rlist.source_ref)


async def reimport(
    uow_factory: UnitOfWorkFactory,
    importer: RecipientImporter,
    sources: Sources,
    actor_id: int,
    list_id: int,
    workdir: Path,
    *,
    labels: RejectedLabels | None = None,
    progress: ProgressCallback | None = None,
    downloading: Callable[[], Awaitable[object]] | None = None,
) -> Reimported:
    """The list fetched again from its source into ``workdir`` (the caller's temporary
    folder) and imported with ``sync``; ``downloading`` is called before a download
    starts. Refusals are the fetcher's, the exporter's and the importer's ``DomainError``:
    the list is then as it was."""
    async with uow_factory() as uow:
        await require_staff(uow, actor_id)
        rlist = await uow.lists.get(list_id)
    if rlist is None:
        raise NotFound("lists-not-found")
    kind, ref = rlist.source_kind, rlist.source_ref
    if kind is ListSourceKind.subscribers:
        return Reimported(
            kind, added=await lists.import_subscribers(uow_factory, actor_id, list_id)
        )
    if not refetchable(rlist) or ref is None:
        return Reimported(kind)
    if downloading is not None:
        await downloading()
    source = await _fetch(sources, kind, ref, workdir)
    source = replace(source, sync=True)
    if labels is not None:  # the rejected rows' file in the manager's language
        source = replace(source, labels=labels)
    report = await lists.import_file(
        uow_factory,
        importer,
        actor_id,
        list_id,
        source,
        source_kind=kind,
        source_ref=ref,
        progress=progress,
    )
    return Reimported(kind, report=report)


async def _fetch(sources: Sources, kind: ListSourceKind, ref: str, workdir: Path) -> ImportSource:
    if kind is ListSourceKind.url:
        return await sources.links.fetch(ref, workdir)
    return await sources.external.export(ref, workdir)
