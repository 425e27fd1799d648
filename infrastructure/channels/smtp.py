"""Email channel: one message per recipient over a pool of persistent SMTP connections.

A new connection per message costs a TCP (and TLS) handshake plus EHLO/AUTH and is
several times slower over a real network, so up to ``pool_size`` aiosmtplib connections
stay open between batches and are reopened when the relay drops them.

Outcomes: 5xx on RCPT is a hard bounce (refused); 4xx anywhere is retry; connection
failures before DATA are ``unreachable`` (a relay that is down loses nothing and spends
no attempt — the rest of the batch is handed back at once instead of waiting on more
connects, and the engine waits for the relay, ``domain.outage``); 5xx on MAIL or DATA
is failed (the content was rejected, not the address). A timeout or a dropped
connection during DATA is ``failed`` "uncertain": the relay may have queued it.

What will not heal by retrying stops the whole batch at once as ``halted`` with the
reason (the engine pauses the run, ``domain.usecases.halt``): a certificate that fails
verification (``smtp-cert-untrusted``), AUTH refused (``smtp-auth-refused``) and a 5xx
on MAIL FROM (``smtp-sender-refused``: our sender, not the recipient, is refused).
A relay whose certificate a private CA signed (or a self-signed one) is trusted through
``ca_file`` (``SMTP_CA_FILE``), on top of the system's CAs; verification stays on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal

import aiosmtplib
from aiosmtplib import (
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPStatus,
)

from domain.bounces import Verp
from domain.delivery import Message, Outcome, RunContent, SendResult
from domain.unsubscribe import MARK as UNSUBSCRIBE_MARK
from infrastructure.channels.smtp_message import LetterWriter

Security = Literal["starttls", "tls", "none"]
UNCERTAIN = "uncertain: connection lost during DATA"
_LINK_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)


class _Down(Exception):
    """The relay cannot be reached: every message not yet tried goes back as retry."""


class _Broken(Exception):
    """The relay will never take our mail as configured: every message not yet sent is
    ``halted`` with this reason (a locale key, then the relay's own words)."""


class SmtpChannel:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        pool_size: int = 8,
        unsubscribe: Callable[[int], str] | None = None,
        validate_certs: bool = True,
        ca_file: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        verp: Verp | None = None,
    ) -> None:
        self._writer = LetterWriter(sender)
        self._mail_from = self._writer.mail_from
        self._verp = verp  # MAIL FROM per delivery, so its bounces name it (BOUNCE_ADDRESS)
        self._unsubscribe = unsubscribe
        self._pool_size = pool_size
        self._timeout = timeout
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[aiosmtplib.SMTP] = []
        self._options = {
            "hostname": host,
            "port": port,
            "username": username,
            "password": password,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "validate_certs": validate_certs,
            "tls_context": trusting(ca_file) if ca_file else None,
            "timeout": timeout,
            # EHLO name: without one aiosmtplib asks DNS for this host's FQDN.
            "local_hostname": local_hostname or self._mail_from.rpartition("@")[2],
        }

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        queue = deque(messages)
        results: list[SendResult] = []
        workers = min(self._pool_size, len(messages))
        await asyncio.gather(*(self._work(content, queue, results) for _ in range(workers)))
        return results

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except Exception:  # closing anyway
                client.close()

    async def _work(
        self, content: RunContent, queue: deque[Message], results: list[SendResult]
    ) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                while queue:
                    message = queue.popleft()
                    try:
                        result, client = await self._deliver(client, content, message)
                    except (_Down, _Broken) as stop:
                        outcome = (
                            Outcome.halted if isinstance(stop, _Broken) else Outcome.unreachable
                        )
                        results.append(_result(message, outcome, str(stop)))
                        results.extend(_result(m, outcome, str(stop)) for m in queue)
                        queue.clear()
                        return
                    except Exception as exc:  # never let one message sink the batch
                        if client is not None:
                            client.close()
                        client = None
                        result = _result(message, Outcome.failed, f"{type(exc).__name__}: {exc}")
                    results.append(result)
            finally:
                if client is not None and client.is_connected:
                    self._idle.append(client)

    async def _deliver(
        self, client: aiosmtplib.SMTP | None, content: RunContent, message: Message
    ) -> tuple[SendResult, aiosmtplib.SMTP | None]:
        rcpt = message.outbound.value
        try:
            url = self._unsubscribe(message.outbound.address_id) if self._unsubscribe else None
            if url and UNSUBSCRIBE_MARK in message.body:  # {{ unsubscribe_url }} in the text
                body = message.body.replace(UNSUBSCRIBE_MARK, html.escape(url, quote=True))
                message = dataclasses.replace(message, body=body)
            raw, message_id = self._writer.write(content, message, url)
            if "@" not in rcpt:
                raise ValueError("not an email address")
            to = rcpt_command(rcpt)
            sender = b"FROM:" + rcpt_command(self._envelope_sender(message))[3:]
        except Exception as exc:  # a bad address fails alone
            return _result(message, Outcome.failed, f"{type(exc).__name__}: {exc}"), client
        for fresh in (False, True):
            if client is None or not client.is_connected:
                client = await self._connect()
                fresh = True
            try:
                async with asyncio.timeout(2 * self._timeout):  # MAIL and RCPT: one timer
                    await _envelope(client, sender, rcpt, to)
            except SMTPRecipientRefused as exc:
                outcome = Outcome.refused if exc.code >= 500 else Outcome.retry
                return _result(message, outcome, _reply(exc)), await _reset(client)
            except SMTPSenderRefused as exc:
                if exc.code >= 500:
                    await _reset(client)
                    raise _Broken(f"smtp-sender-refused: {_reply(exc)}") from exc
                return _result(message, Outcome.retry, _reply(exc)), await _reset(client)
            except SMTPResponseException as exc:
                outcome = Outcome.failed if exc.code >= 500 else Outcome.retry
                return _result(message, outcome, _reply(exc)), await _reset(client)
            except _LINK_ERRORS as exc:
                client.close()  # nothing was sent yet: reconnect once and go again
                client = None
                if fresh:
                    raise _Down(f"{type(exc).__name__}: {exc}") from exc
                continue
            return await self._data(client, message, raw, message_id)
        raise AssertionError("unreachable")

    async def _data(
        self, client: aiosmtplib.SMTP, message: Message, raw: bytes, message_id: str
    ) -> tuple[SendResult, aiosmtplib.SMTP | None]:
        try:
            async with asyncio.timeout(2 * self._timeout):  # DATA and the letter: one timer
                await client.data(raw, timeout=None)
        except SMTPResponseException as exc:
            outcome = Outcome.failed if exc.code >= 500 else Outcome.retry
            return _result(message, outcome, _reply(exc)), await _reset(client)
        except _LINK_ERRORS as exc:
            client.close()
            return _result(message, Outcome.failed, f"{UNCERTAIN} ({exc})"), None
        return _result(message, Outcome.delivered, provider_id=message_id), client

    def _envelope_sender(self, message: Message) -> str:
        if self._verp is None:
            return self._mail_from
        return self._verp.address(message.outbound.delivery_id)

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # no AUTH or STARTTLS said it already
                await _greet(client)
        except Exception as exc:  # refused, reset, timed out: "not now"
            client.close()
            broken = _broken(exc)
            if broken is not None:
                raise _Broken(broken) from exc
            raise _Down(f"cannot connect: {type(exc).__name__}: {exc}") from exc
        return client


def trusting(ca_file: str) -> ssl.SSLContext:
    """The system's trusted CAs plus those of ``ca_file`` (SMTP_CA_FILE): a PEM file with a
    private CA, or a relay's own self-signed certificate. Host names are still checked."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_file)
    return context


def _broken(exc: BaseException) -> str | None:
    """Why connecting can never work as configured, or None (it may work later): the
    relay's certificate fails verification, or it refuses our AUTH."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"smtp-cert-untrusted: {seen.verify_message or seen.reason or seen}"
        if isinstance(seen, aiosmtplib.SMTPAuthenticationError) or (
            isinstance(seen, SMTPResponseException) and seen.code in (530, 534, 535, 538)
        ):
            return f"smtp-auth-refused: {_reply(seen)}"
        seen = seen.__cause__ or seen.__context__
    return None


async def _envelope(client: aiosmtplib.SMTP, sender: bytes, rcpt: str, to: bytes) -> None:
    """MAIL FROM and RCPT TO as aiosmtplib's ``mail()`` and ``rcpt()`` send them, less
    their ``email.utils.parseaddr`` of both addresses for every letter (~11 % of the
    delivery thread's time, py-spy): the sender was checked at start-up, the recipient
    on import, and ``rcpt_command`` refuses anything that could break the line.

    No timer per command: the caller times both together (twice the channel's timeout,
    so a slow relay gets as long as with one each); aiosmtplib's own timeout is a
    ``wait_for`` timer per command, ~6 µs of CPU each, four a letter. Out of time is
    ``TimeoutError``, a link error like aiosmtplib's ``SMTPTimeoutError``."""
    response = await client.execute_command(b"MAIL", sender, timeout=None)
    if response.code != SMTPStatus.completed:
        raise SMTPSenderRefused(response.code, response.message, sender.decode())
    response = await client.execute_command(b"RCPT", to, timeout=None)
    if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
        raise SMTPRecipientRefused(response.code, response.message, rcpt)


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO from a server that does not know it (what aiosmtplib's own commands
    do first; ``_envelope`` sends its commands directly)."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        await client.helo()


def rcpt_command(address: str) -> bytes:
    """``TO:<address>``; an address that is not plain ASCII without spaces or brackets is
    refused here (a non-ASCII one needs SMTPUTF8, which this channel does not speak)."""
    if not address.isascii() or any(c in address for c in "<> \r\n\t"):
        raise ValueError(f"cannot send to {address!r}")
    return b"TO:<" + address.encode("ascii") + b">"


async def _reset(client: aiosmtplib.SMTP) -> aiosmtplib.SMTP | None:
    """RSET after a refused step so the connection can carry the next message."""
    try:
        await client.rset()
    except Exception:  # a connection that cannot reset is dropped
        client.close()
        return None
    return client


def _reply(exc: SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}"


def _result(
    message: Message, outcome: Outcome, error: str | None = None, provider_id: str | None = None
) -> SendResult:
    return SendResult(message.outbound.delivery_id, outcome, error, provider_id)
