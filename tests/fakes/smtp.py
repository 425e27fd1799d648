"""A fake SMTP relay on 127.0.0.1 (port 0): aiosmtpd's protocol in the test's own loop::

    async with FakeSmtp() as smtp:
        channel = SmtpChannel(smtp.host, smtp.port, security="none", sender="a@b.test")
        smtp.reject("gone@x.test", "550 5.1.1 No such user")     # every time
        smtp.reject("busy@x.test", "451 4.3.0 Try later", times=1)
        await smtp.go_down()        # stop listening and drop every connection
        await smtp.come_back()      # listen again on the same port
        smtp.messages               # received messages (one per RCPT'd recipient set)
        smtp.connections            # connections accepted so far
        smtp.max_in_flight          # most DATA commands answered at once (with ``delay``)

    FakeSmtp(login=("user", "secret"))  # AUTH required (over plain TCP), these credentials
    FakeSmtp(tls=context)               # implicit TLS (port 465 style) with this context
    FakeSmtp(starttls=context)          # plain TCP, STARTTLS offered with this context
    smtp.reject_sender("550 5.7.1 Sender not allowed")   # every MAIL FROM

It runs in the test's event loop (no thread), so ``go_down`` is immediate and exact.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        raw = self.raw.replace(b"\r\n", b"\n")  # wire line endings -> Python's
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.fake.sender_reply is not None:
            return self.fake.sender_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        rule = self.fake._rejections.get(address.lower())
        if rule is not None:
            reply, times = rule
            if times is not None:
                if times <= 1:
                    del self.fake._rejections[address.lower()]
                else:
                    self.fake._rejections[address.lower()] = (reply, times - 1)
            return reply
        if self.fake.rcpt_delay:
            await asyncio.sleep(self.fake.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fake = self.fake
        fake.in_flight += 1
        fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if fake.delay:
                await asyncio.sleep(fake.delay)
        finally:
            fake.in_flight -= 1
        raw = envelope.original_content or b""
        self.fake.messages.append(
            ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(raw))
        )
        return "250 2.0.0 Message accepted for delivery"


class FakeSmtp:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        login: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.login = login
        self.tls = tls
        self.starttls = starttls  # offered after EHLO (RFC 3207), aiosmtpd's own STARTTLS
        self.sender_reply: str | None = None  # the answer to every MAIL FROM (None: 250)
        self.logins = 0  # successful AUTHs
        self.port = 0
        self.messages: list[ReceivedMail] = []
        self.connections = 0
        self.delay = 0.0  # seconds before answering DATA (a slow relay)
        self.rcpt_delay = 0.0  # seconds before accepting a RCPT TO (a tarpit)
        self.in_flight = 0  # DATA commands being answered right now
        self.max_in_flight = 0
        self._rejections: dict[str, tuple[str, int | None]] = {}
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()
        self._handler = _Handler(self)

    def reject(self, address: str, reply: str, *, times: int | None = None) -> None:
        """Answer RCPT TO ``address`` with ``reply`` (e.g. "550 ..."), always or ``times``."""
        self._rejections[address.lower()] = (reply, times)

    def reject_sender(self, reply: str) -> None:
        """Answer every MAIL FROM with ``reply`` (e.g. "550 5.7.1 Sender not allowed")."""
        self.sender_reply = reply

    def received_by(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.rcpt_tos]

    async def start(self) -> None:
        fake = self

        class _Session(SMTP):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                fake.connections += 1
                fake._sessions.add(self)
                super().connection_made(transport)

            def connection_lost(self, error: Exception | None) -> None:
                fake._sessions.discard(self)
                super().connection_lost(error)

        loop = asyncio.get_running_loop()
        auth: dict[str, Any] = {}
        if self.starttls is not None:
            auth["tls_context"] = self.starttls
        if self.login is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._server = await loop.create_server(
            lambda: _Session(self._handler, hostname="fake-smtp.test", loop=loop, **auth),
            self.host,
            self.port,
            reuse_address=True,
            ssl=self.tls,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        expected = tuple(part.encode() for part in self.login or ("", ""))
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
        self.logins += ok
        # A refusal is answered 535 (RFC 4954 §6); aiosmtpd's default (handled=True)
        # answers nothing and the client waits for its timeout.
        return AuthResult(success=ok, handled=False)

    async def go_down(self) -> None:
        """Stop listening (connects are refused) and drop every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop_connections()
        await asyncio.sleep(0)

    async def come_back(self) -> None:
        await self.start()

    def drop_connections(self) -> None:
        """Close open connections (as an idle timeout on the relay would)."""
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()

    async def stop(self) -> None:
        await self.go_down()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
