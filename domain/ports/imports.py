"""Bringing recipients in: files, links, another service's lists (``usecases.lists``)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from domain.imports import ImportReport, ImportSource, ProgressCallback


class RecipientImporter(Protocol):
    """Parses, validates and stores a file of recipients into a list.

    All or nothing: either every valid row is stored and the report returned, or a
    ``DomainError`` (e.g. ``import-empty-file``, ``import-no-address-column``,
    ``import-not-a-table``, ``import-mixed-encodings``, ``import-all-invalid``) is raised
    and the list is exactly as it was. Rows never go to the database one statement each.
    """

    async def import_file(
        self, list_id: int, source: ImportSource, progress: ProgressCallback | None = None
    ) -> ImportReport: ...

    async def sheet_names(self, source: ImportSource) -> list[str]:
        """The sheets of an XLSX file, so the manager can pick one; ``[]`` for other files.
        Refuses a workbook past the package limits (e.g. ``import-xlsx-packed``)."""
        ...


class RemoteFileFetcher(Protocol):
    """Downloads a CSV/XLSX link (a Google Sheets export link included) into ``dest_dir``.

    Streams with a size cap and a timeout; refuses private and loopback hosts unless
    configured otherwise, and pages that are HTML instead of a table. Raises
    ``DomainError`` keys ``fetch-*`` with a reason the manager can act on.
    """

    async def fetch(self, url: str, dest_dir: Path) -> ImportSource: ...


class ExternalListSource(Protocol):
    """A third-party service's lists (Sendsay), exported into a local CSV to import."""

    @property
    def available(self) -> bool:
        """False when the service is not configured (no credentials)."""
        ...

    async def lists(self) -> list[tuple[str, str]]:
        """(id, name) of the lists and groups one can import from."""
        ...

    async def export(self, list_ref: str, dest_dir: Path) -> ImportSource: ...
