"""Reads the bounce mailbox over IMAP (aioimaplib) every ``BOUNCE_POLL_SECONDS``.

Each poll logs in, selects the folder, fetches what it has not processed yet
(``BODY.PEEK[]``, so fetching marks nothing), hands each message to ``handle`` and then
marks it processed: with the ``$MailForgeDone`` keyword where the server allows custom
keywords (bounces are also marked ``\\Seen``; an auto-reply stays unread for a person),
else with ``\\Seen``. ``handle`` records a message in the database before it is marked,
and each message is recorded once by a digest of its bytes, so a crash between the two
counts nothing twice: the next poll finds the message, which changes nothing, and
marks it.

A refused login or an unreachable server is logged and shown in ``/healthz`` (``status``);
the next poll tries again. Nothing here raises into the bot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aioimaplib

from domain.bounces import BounceKind

log = logging.getLogger(__name__)
KEYWORD = "$MailForgeDone"
Handle = Callable[[bytes], Awaitable[BounceKind]]
_FETCH_SIZE = re.compile(rb"\{(\d+)\}$")
_MARK_READ = frozenset(BounceKind) - {BounceKind.not_bounce}


class MailboxError(Exception):
    """The server answered, but not as a working mailbox would."""


class LoginRefused(MailboxError):
    pass


@dataclass(frozen=True, slots=True)
class Mailbox:
    """``imaps://user:password@host[:port]/FOLDER`` (``imap://`` without TLS)."""

    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    tls: bool = True

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("must look like imaps://user:password@imap.example.com/INBOX")
        if not parts.username or parts.password is None:
            raise ValueError("must carry the mailbox's user and password (imaps://user:pass@…)")
        tls = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.strip("/")) or "INBOX",
            tls=tls,
        )


@dataclass
class ReaderStatus:
    """What ``/healthz`` shows of the bounce reader (no host, user or secret in it)."""

    state: str = "starting"  # ok | login refused | unreachable | error
    last_poll: datetime | None = None  # the last poll that ended, whatever its result
    last_success: datetime | None = None
    processed: int = 0  # messages handled by this process
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "processed": self.processed,
            "by_kind": dict(self.by_kind),
        }


class ImapBounceReader:
    def __init__(
        self,
        mailbox: Mailbox,
        handle: Handle,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        batch: int = 200,
    ) -> None:
        self._mailbox = mailbox
        self._handle = handle
        self._timeout = timeout
        self._ssl = ssl_context
        self._batch = batch
        self.status = ReaderStatus()

    async def run_forever(self, interval: float) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(interval)

    async def poll(self) -> int:
        """One pass over the new messages; how many were handled. Never raises."""
        try:
            handled = await asyncio.wait_for(self._poll(), self._timeout * 10)
        except LoginRefused as exc:
            self._failed("login refused", exc)
            return 0
        except (OSError, TimeoutError, aioimaplib.Abort) as exc:
            self._failed("unreachable", exc)
            return 0
        except Exception as exc:  # a server's odd answer must not stop the reader
            self._failed("error", exc)
            return 0
        now = datetime.now(UTC)
        self.status.state, self.status.last_poll, self.status.last_success = "ok", now, now
        return handled

    def _failed(self, state: str, exc: BaseException) -> None:
        if self.status.state != state:
            log.warning("Bounce mailbox: %s (%s: %s)", state, type(exc).__name__, exc)
        self.status.state, self.status.last_poll = state, datetime.now(UTC)

    async def _poll(self) -> int:
        client = await self._connect()
        try:
            use_keyword = await self._select(client)
            uids = await self._unprocessed(client, use_keyword)
            for uid in uids[: self._batch]:
                kind = await self._handle(await self._fetch(client, uid))
                await self._mark(client, uid, kind, use_keyword)
                self.status.processed += 1
                self.status.by_kind[kind.value] = self.status.by_kind.get(kind.value, 0) + 1
            return min(len(uids), self._batch)
        finally:
            await _logout(client)

    async def _connect(self) -> aioimaplib.IMAP4:
        box = self._mailbox
        client: aioimaplib.IMAP4
        if box.tls:
            context = self._ssl or ssl.create_default_context()
            client = aioimaplib.IMAP4_SSL(
                host=box.host, port=box.port, timeout=self._timeout, ssl_context=context
            )
        else:
            client = aioimaplib.IMAP4(host=box.host, port=box.port, timeout=self._timeout)
        await client.wait_hello_from_server()
        response = await client.login(box.user, box.password)
        if response.result != "OK":
            await _logout(client)
            raise LoginRefused(_text(response.lines))
        return client

    async def _select(self, client: aioimaplib.IMAP4) -> bool:
        """Whether the folder takes our keyword (PERMANENTFLAGS lists ``\\*``)."""
        response = await client.select(_quoted(self._mailbox.folder))
        if response.result != "OK":
            raise MailboxError(f"cannot select {self._mailbox.folder}: {_text(response.lines)}")
        flags = next((bytes(line) for line in response.lines if b"PERMANENTFLAGS" in line), b"")
        return b"\\*" in flags

    async def _unprocessed(self, client: aioimaplib.IMAP4, use_keyword: bool) -> list[str]:
        criteria = f"UNKEYWORD {KEYWORD}" if use_keyword else "UNSEEN"
        response = await client.uid_search(criteria)
        if response.result != "OK":
            raise MailboxError(f"search failed: {_text(response.lines)}")
        found = bytes(response.lines[0]).split() if response.lines else []
        return [uid.decode() for uid in found if uid.isdigit()]

    async def _fetch(self, client: aioimaplib.IMAP4, uid: str) -> bytes:
        response = await client.uid("fetch", uid, "(BODY.PEEK[])")
        if response.result != "OK":
            raise MailboxError(f"fetch {uid} failed: {_text(response.lines)}")
        for i, line in enumerate(response.lines[:-1]):
            if isinstance(line, bytes) and _FETCH_SIZE.search(line):
                return bytes(response.lines[i + 1])
        return b""  # the message vanished meanwhile: classified as malformed

    async def _mark(
        self, client: aioimaplib.IMAP4, uid: str, kind: BounceKind, use_keyword: bool
    ) -> None:
        flags = [KEYWORD] if use_keyword else []
        if kind in _MARK_READ or not use_keyword:
            flags.append("\\Seen")
        response = await client.uid("store", uid, "+FLAGS.SILENT", f"({' '.join(flags)})")
        if response.result != "OK":
            raise MailboxError(f"cannot mark {uid}: {_text(response.lines)}")


async def _logout(client: aioimaplib.IMAP4) -> None:
    try:
        await asyncio.wait_for(client.logout(), 5)
    except Exception:  # the connection is going away anyway
        log.debug("Bounce mailbox: logout failed", exc_info=True)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(lines: list[bytes]) -> str:
    return " ".join(bytes(line).decode("utf-8", "replace") for line in lines)[:200]
