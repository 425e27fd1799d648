"""``SendsayListSource``: a Sendsay account's groups as an ``ExternalListSource``.

Actions used:

- ``group.list`` → ``{"list": [{"id": …, "name": …, …}]}``. The action name is confirmed
  (several clients link it to the API docs); the ``id``/``name`` fields are how those
  clients read it (``group.get`` answers the same shape).
- ``member.list`` with ``group``, ``page`` (from 1) and ``pagesize`` → ``{"list": [...]}``
  (SENDSAY.md); we stop at the first page shorter than ``pagesize``. Without datakeys it
  may return e-mails only (SENDSAY.md), so it asks for ``datakey``: ``member.email`` and
  every anketa of the account (``anketa.list``), or ``*`` when the anketas cannot be
  listed. The parameter name ``datakey`` (as ``member.get`` takes it) and the row shapes
  are assumptions (see ``members.py``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from domain.errors import DomainError
from domain.imports import ImportSource
from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError
from infrastructure.sendsay.members import CsvSpool, member_row

DEFAULT_PAGE_SIZE = 1000
# A safety stop should a server ignore "page" and keep answering full pages.
MAX_PAGES = 10_000
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


class SendsayListSource:
    """Lists Sendsay groups and exports one into a UTF-8 CSV (``email,<data fields…>``)."""

    def __init__(self, client: SendsayClient | None, *, page_size: int = DEFAULT_PAGE_SIZE):
        self._client = client
        self.page_size = page_size

    @property
    def available(self) -> bool:
        return self._client is not None

    async def lists(self) -> list[tuple[str, str]]:
        client = self._require_client()
        try:
            answer = await client.request("group.list")
        except SendsayError as error:
            raise _domain_error(error) from error
        groups = [g for g in answer.get("list") or [] if isinstance(g, dict) and "id" in g]
        return [(str(g["id"]), str(g.get("name") or g["id"])) for g in groups]

    async def export(self, list_ref: str, dest_dir: Path) -> ImportSource:
        client = self._require_client()
        # Checked up front: the error id Sendsay gives for a missing group is not confirmed.
        if list_ref not in dict(await self.lists()):
            raise DomainError("sendsay-unknown-list", list=list_ref)
        await asyncio.to_thread(dest_dir.mkdir, parents=True, exist_ok=True)
        spool = CsvSpool(dest_dir)
        target = dest_dir / f"sendsay-{_UNSAFE_NAME.sub('_', list_ref)}.csv"
        try:
            async for rows in self._pages(client, list_ref):
                await asyncio.to_thread(spool.add, rows)
            await asyncio.to_thread(spool.write_csv, target)
        except BaseException as error:  # a half-written CSV must never be imported
            await asyncio.to_thread(target.unlink, missing_ok=True)
            if isinstance(error, SendsayError):
                raise await self._export_error(error, list_ref) from error
            raise
        finally:
            await asyncio.to_thread(spool.discard)
        return ImportSource(path=target, filename=target.name)

    async def _pages(
        self, client: SendsayClient, group: str
    ) -> AsyncIterator[list[dict[str, str]]]:
        datakey = await _datakeys(client)
        for page in range(1, MAX_PAGES + 1):
            answer = await client.request(
                "member.list", group=group, page=page, pagesize=self.page_size, datakey=datakey
            )
            raw: list[Any] = answer.get("list") or []
            order = answer.get("order")
            yield [member_row(row, order if isinstance(order, list) else None) for row in raw]
            if len(raw) < self.page_size:
                return
        raise SendsayError("sendsay/too_many_pages", action="member.list")

    async def _export_error(self, error: SendsayError, list_ref: str) -> DomainError:
        """A refusal while exporting: the group may have been deleted meanwhile (looked up,
        as Sendsay's id for a missing group is not confirmed)."""
        if isinstance(error, SendsayAuthError | SendsayTransientError):
            return _domain_error(error)
        try:
            gone = list_ref not in dict(await self.lists())
        except DomainError:
            gone = False
        return DomainError("sendsay-unknown-list", list=list_ref) if gone else _domain_error(error)

    def _require_client(self) -> SendsayClient:
        if self._client is None:
            raise DomainError("sendsay-not-configured")
        return self._client


async def _datakeys(client: SendsayClient) -> list[str]:
    """What ``member.list`` should return: the address and every anketa's data."""
    try:
        answer = await client.request("anketa.list")
    except SendsayError as error:
        if isinstance(error, SendsayAuthError | SendsayTransientError):
            raise
        return ["member.email", "*"]
    anketas = [a for a in answer.get("list") or [] if isinstance(a, dict) and a.get("id")]
    return ["member.email", *(str(a["id"]) for a in anketas)] if anketas else ["member.email"]


def _domain_error(error: SendsayError) -> DomainError:
    if isinstance(error, SendsayAuthError):
        return DomainError("sendsay-auth-failed")
    if isinstance(error, SendsayTransientError):
        return DomainError("sendsay-unavailable")
    return DomainError("sendsay-error", error=error.error_id)
