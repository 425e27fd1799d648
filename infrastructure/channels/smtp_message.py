"""One email per recipient, built from a rendered message.

``multipart/alternative``: a plain-text part first (clients show the last part they
can render, RFC 2046 §5.1.4), then the HTML. ``List-Unsubscribe`` with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` is RFC 8058 one-click unsubscribe,
required by Gmail and Yahoo for bulk senders. Attachments are out of scope: a
document's ``file_id`` lives in Telegram, so email media is not attached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from html import escape

from domain.delivery import Message, RunContent
from infrastructure.rendering import html_to_text, telegram_html_to_email_html


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


def build_email(
    content: RunContent,
    message: Message,
    *,
    sender: str,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    outbound = message.outbound
    mail = EmailMessage()
    mail["From"] = sender
    name = str(outbound.attributes.get("name") or "").strip()
    local, _, domain = outbound.value.rpartition("@")
    mail["To"] = Address(display_name=name, username=local, domain=domain)
    mail["Subject"] = message.subject or content.subject or content.mailing_name
    mail["Date"] = format_datetime(datetime.now(UTC))
    # An explicit domain: make_msgid() would otherwise ask DNS for this host's FQDN.
    mail["Message-ID"] = make_msgid(
        idstring=f"{outbound.run_id}.{outbound.delivery_id}",
        domain=envelope_address(sender).rpartition("@")[2],
    )
    mail["X-MailForge-Delivery"] = str(outbound.delivery_id)
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(html_to_text(message.body))
    html = with_pixel(telegram_html_to_email_html(message.body), message.open_url)
    mail.add_alternative(html, subtype="html")
    return mail
