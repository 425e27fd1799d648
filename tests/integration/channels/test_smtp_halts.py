"""What retrying cannot mend stops the batch at once as ``halted``, with a reason the
bot translates: an untrusted certificate, AUTH refused, 5xx on MAIL FROM (issue 17 #3).
A relay that is merely away is ``unreachable`` (the engine waits for it)."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path
from typing import Literal

import pytest

from domain.delivery import Outcome
from domain.mailings import Channel
from domain.recipients import AddressKind
from infrastructure.channels.smtp import SmtpChannel
from tests.fakes.smtp import FakeSmtp
from tests.integration.channels.support import content, messages

EMAIL = AddressKind.email
SENDER = "News <news@mailforge.test>"


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 (openssl), whose
    certificate is ``tmp_path / "cert.pem"``."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_smtp_ca_file_trusts_a_self_signed_relay(
    self_signed: ssl.SSLContext, tmp_path: Path, security: Literal["tls", "starttls"]
) -> None:
    """SMTP_CA_FILE: the relay's own certificate (or its private CA) is trusted, with the
    system's CAs, and the host name still checked; without it the same relay halts."""
    starttls = security == "starttls"
    fake = FakeSmtp(
        tls=None if starttls else self_signed, starttls=self_signed if starttls else None
    )
    async with fake as relay:
        channel = SmtpChannel(
            relay.host,
            relay.port,
            security=security,
            sender=SENDER,
            timeout=5,
            ca_file=str(tmp_path / "cert.pem"),
        )
        outcomes, errors, _ = await send_all(channel, count=2)
        assert outcomes == {Outcome.delivered}, errors
        assert len(relay.messages) == 2
        untrusting = SmtpChannel(relay.host, relay.port, security=security, sender=SENDER)
        outcomes, errors, _ = await send_all(untrusting, count=1)
        assert outcomes == {Outcome.halted} and errors.pop().startswith("smtp-cert-untrusted")


async def send_all(channel: SmtpChannel, count: int = 5) -> tuple[set[Outcome], set[str], float]:
    started = time.monotonic()
    try:
        results = await channel.send(
            content(Channel.email), messages(EMAIL, [f"r{i}@x.test" for i in range(count)])
        )
    finally:
        await channel.close()
    assert len(results) == count
    errors = {r.error or "" for r in results}
    return {r.outcome for r in results}, errors, time.monotonic() - started


async def test_an_untrusted_certificate_halts_the_batch(self_signed: ssl.SSLContext) -> None:
    async with FakeSmtp(tls=self_signed) as relay:
        channel = SmtpChannel(relay.host, relay.port, security="tls", sender=SENDER, timeout=5)
        outcomes, errors, _ = await send_all(channel)
    assert outcomes == {Outcome.halted}
    (error,) = errors
    assert error.startswith("smtp-cert-untrusted: ")
    assert "self-signed" in error or "self signed" in error
    assert relay.messages == []


async def test_a_refused_login_halts_the_batch() -> None:
    async with FakeSmtp(login=("user", "secret")) as relay:
        channel = SmtpChannel(
            relay.host, relay.port, security="none", sender=SENDER,
            username="user", password="wrong", timeout=5,
        )  # fmt: skip
        outcomes, errors, _ = await send_all(channel)
    assert outcomes == {Outcome.halted}
    (error,) = errors
    assert error.startswith("smtp-auth-refused: 535")
    assert relay.messages == []


async def test_a_5xx_on_mail_from_halts_the_batch_and_a_4xx_is_retried() -> None:
    async with FakeSmtp() as relay:
        relay.reject_sender("550 5.7.1 Sender not allowed")
        channel = SmtpChannel(relay.host, relay.port, security="none", sender=SENDER, timeout=5)
        outcomes, errors, _ = await send_all(channel)
        relay.reject_sender("451 4.3.0 Try later")
        channel = SmtpChannel(relay.host, relay.port, security="none", sender=SENDER, timeout=5)
        later, _, _ = await send_all(channel)
    assert outcomes == {Outcome.halted}
    assert errors == {"smtp-sender-refused: 550 5.7.1 Sender not allowed"}
    assert later == {Outcome.retry}


async def test_a_relay_that_is_away_is_still_retried() -> None:
    async with FakeSmtp() as relay:
        await relay.go_down()
        channel = SmtpChannel(relay.host, relay.port, security="none", sender=SENDER, timeout=5)
        outcomes, _, _ = await send_all(channel)
    assert outcomes == {Outcome.unreachable}
