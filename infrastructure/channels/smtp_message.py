"""One email per recipient, written from a rendered message.

``multipart/alternative``: a plain-text part first (clients show the last part they
can render, RFC 2046 §5.1.4), then the HTML, both UTF-8 in quoted-printable (RFC 2045
§6.7: 7-bit safe, lines ≤ 76, still readable). ``List-Unsubscribe`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` is RFC 8058 one-click unsubscribe,
required by Gmail and Yahoo for bulk senders. Attachments are out of scope: a document's
``file_id`` lives in Telegram, so email media is not attached.

Why not ``email.message.EmailMessage``: measured, it cost ~5 ms of CPU a letter here
(each header assignment parses the value and makes a new header class; ``set_content``
and ``as_bytes`` parse them again), against ~0.2 ms for this: the bot's end-to-end email
rate was 0.23 of a bare aiosmtplib pool (bench/delivery.py --e2e). The encoders are the
standard library's (``email.header``, ``email.utils``, ``binascii.b2a_qp``); only the
layout of the two parts is written here. Lines end in LF: aiosmtplib sends CRLF.
"""

from __future__ import annotations

import binascii
import secrets
import time
from email.header import Header
from email.utils import formataddr, formatdate, getaddresses
from html import escape

from domain.delivery import Message, RunContent
from infrastructure.rendering import html_to_text, telegram_html_to_email_html
from infrastructure.rendering.html_events import html_events
from infrastructure.rendering.letter_parts import TemplateParts

_PLANS = 8  # templates whose parts a writer keeps (the runs it sends at once)


def envelope_address(sender: str) -> str:
    """The bare address of ``"News <news@example.com>"`` (for MAIL FROM)."""
    found = getaddresses([sender])
    if not found or "@" not in found[0][1]:
        raise ValueError(f"not an email address: {sender!r}")
    return found[0][1]


def with_pixel(html: str, url: str | None) -> str:
    """The open pixel (1×1, empty alt) last in the body: images that load count opens."""
    if not url:
        return html
    pixel = (
        f'<img src="{escape(url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    head, found, tail = html.rpartition("</body>")
    return f"{head}{pixel}{found}{tail}" if found else html + pixel


class LetterWriter:
    """Writes the letters of one sender; what they all share is encoded once."""

    def __init__(self, sender: str) -> None:
        self.mail_from = envelope_address(sender)
        self._domain = self.mail_from.rpartition("@")[2]
        name = getaddresses([sender])[0][0]
        self._from = address_header(name, self.mail_from)
        self._second = -1  # the Date header of the current second, made once
        self._date = ""
        self._plans: dict[str, TemplateParts | None] = {}

    def write(
        self, content: RunContent, message: Message, unsubscribe_url: str | None = None
    ) -> tuple[bytes, str]:
        """The letter as bytes to send, and its ``Message-ID``."""
        outbound = message.outbound
        name = str(outbound.attributes.get("name") or "")
        subject = message.subject or content.subject or content.mailing_name
        # 96 random bits make both the Message-ID unique (RFC 5322 §3.6.4; the run and the
        # delivery name it) and the boundary; "=_" never occurs in quoted-printable text
        # (RFC 2045 §6.7: "=" is "=3D"). The sender's domain, not DNS, ends the id.
        token = secrets.token_hex(12)
        message_id = f"<{outbound.run_id}.{outbound.delivery_id}.{token}@{self._domain}>"
        boundary = f"=_mf_{token}"
        headers = [
            f"From: {self._from}",
            f"To: {address_header(name, outbound.value)}",
            f"Subject: {text_header(subject)}",
            f"Date: {self._now()}",
            f"Message-ID: {message_id}",
            f"X-MailForge-Delivery: {outbound.delivery_id}",
        ]
        if unsubscribe_url:
            headers.append(f"List-Unsubscribe: <{_one_line(unsubscribe_url)}>")
            headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        headers.append("MIME-Version: 1.0")
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        html, text = self._parts(content.body, message.body)
        letter = "\n".join(
            (
                *headers,
                "",
                f"--{boundary}",
                _part("plain", text),
                f"--{boundary}",
                _part("html", with_pixel(html, message.open_url)),
                f"--{boundary}--",
                "",
            )
        )
        return letter.encode("ascii"), message_id

    def _parts(self, template: str, body: str) -> tuple[str, str]:
        """The HTML and text of ``body``: from the template's plan where it is exact
        (``TemplateParts``), else converted here."""
        if template in self._plans:
            plan = self._plans[template]
        else:
            if len(self._plans) >= _PLANS:
                self._plans.clear()
            plan = self._plans[template] = TemplateParts.of(template)
        found = plan.parts(body) if plan is not None else None
        if found is not None:
            return found
        events = html_events(body)  # read once for both parts
        return telegram_html_to_email_html(events), html_to_text(events)

    def _now(self) -> str:
        """``Date``: RFC 5322 time to the second, so it is formatted once a second (it was
        18 % of a letter's writing)."""
        second = int(time.time())
        if second != self._second:
            self._second, self._date = second, formatdate(second, usegmt=True)
        return self._date


def address_header(name: str, address: str) -> str:
    """``Name <address>``: quoted if it needs to be, RFC 2047 encoded if not ASCII."""
    name = _one_line(name).strip()
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    address = f"{local}@{domain}"
    if not local.isascii():
        raise ValueError("a non-ASCII mailbox name needs SMTPUTF8")
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))
    return f"{Header(name, 'utf-8').encode(linesep=chr(10))} <{address}>"


def text_header(value: str) -> str:
    """A header's text: ASCII as it is (folded if long), else RFC 2047 encoded words."""
    value = _one_line(value)
    if value.isascii() and len(value) <= 68:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name="Subject").encode(linesep="\n")


def _one_line(value: str) -> str:
    """No line breaks in a header: a rendered subject or name cannot add headers."""
    return " ".join(value.splitlines())


def _part(subtype: str, text: str) -> str:
    body = binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
        f"{body}"
    )
