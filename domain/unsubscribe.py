"""Signed per-recipient unsubscribe tokens (HMAC-SHA256), for links in every email.

A token names one address and cannot be forged or altered without the secret; it never
expires, because an unsubscribe link must keep working in an old email. The format
predates the compact tokens of ``domain.signing`` and stays, so old links keep working.

Every email carries the link in its ``List-Unsubscribe`` header; ``{{ unsubscribe_url }}``
puts it in the body too. The template renders it as ``MARK``, an address that cannot
exist (RFC 6761 ``.invalid``), so a preview shows where the link goes; the email channel
puts each recipient's own signed link in its place. Other channels have no such link
(Telegram subscribers leave with /stop): the preview refuses the placeholder there.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from domain.mailings import Channel
from domain.signing import Signer

PLACEHOLDER = "unsubscribe_url"
MARK = "https://unsubscribe.invalid/mailforge"
_CONTEXT = b"mailforge-unsubscribe:"
_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, address_id: int) -> str:
    payload = _b64(str(address_id).encode())
    return f"{payload}.{_b64(Signer(secret).mac(_CONTEXT, payload, _SIGNATURE_BYTES))}"


def read_token(secret: bytes, token: str) -> int | None:
    """The address id of a genuine token; ``None`` for anything forged or malformed."""
    payload, dot, signature = token.partition(".")
    if not dot or not payload or len(token) > 100:
        return None
    try:
        given = _unb64(signature)
        address_id = int(_unb64(payload).decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    expected = Signer(secret).mac(_CONTEXT, payload, _SIGNATURE_BYTES)
    if not hmac.compare_digest(given, expected) or address_id <= 0:
        return None
    return address_id


def with_unsubscribe_link(channel: Channel, values: dict[str, Any]) -> dict[str, Any]:
    """A template's values for ``channel``: an email's also fill ``{{ unsubscribe_url }}``
    (with ``MARK``, which the email channel replaces)."""
    if channel is not Channel.email:
        return values
    return {**values, PLACEHOLDER: MARK}
