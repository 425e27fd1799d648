"""One signer for every token MailForge hands out: unsubscribe links, VERP bounce
addresses, the open pixel and tracked links.

HMAC-SHA256 with the secret, and a purpose mixed into every MAC so that a token made for
one use (a pixel) is never accepted for another (a link, a bounce). Compact tokens are
numbers in base 36 and a base 32 MAC, all lower case and ``-``: they fit an email
address's local part (RFC 5321 §4.5.3.1.1: at most 64 characters; some relays lower-case
it, so the token is read case-insensitively) and a URL path, with nothing to escape.
"""

from __future__ import annotations

import base64
import hmac
import re

# 80 bits: a forger must guess 2**80 MACs per delivery; 16 characters in base 32.
COMPACT_MAC_BYTES = 10
_COMPACT_RE = re.compile(r"^[0-9a-z]{1,13}(?:-[0-9a-z]{1,13}){0,3}-[a-z2-7]{16}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(number: int) -> str:
    if number < 0:
        raise ValueError("only natural numbers are encoded")
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits


_B32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base 32, lower case
_B32_PAIRS = tuple(first + second for first in _B32 for second in _B32)  # 10 bits each


def base32_lower(data: bytes) -> str:
    """``base64.b32encode(data).decode().lower()`` for whole 5-byte groups (a compact MAC
    is 10 bytes: no padding), ten bits at a time: the standard library encodes in Python,
    5 µs a token, one in every letter's open pixel."""
    if len(data) % 5:
        return base64.b32encode(data).decode().lower()
    number = int.from_bytes(data, "big")
    shifts = range(len(data) * 8 - 10, -1, -10)
    return "".join([_B32_PAIRS[(number >> shift) & 1023] for shift in shifts])


class Signer:
    """Makes and checks MACs of short payloads; one per secret, shared by every token."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the signing secret is empty")
        self._secret = secret

    def mac(self, purpose: bytes, payload: str, size: int) -> bytes:
        # hmac.digest: OpenSSL's one-shot HMAC, the same MAC as hmac.new(...).digest()
        # without a Python object per call (two MACs per letter: pixel and unsubscribe).
        return hmac.digest(self._secret, purpose + payload.encode(), "sha256")[:size]

    def compact(self, purpose: bytes, *numbers: int) -> str:
        """``numbers`` in base 36 and their MAC, e.g. ``1a-2b-abcdefghijklmnop``."""
        payload = "-".join(to_base36(n) for n in numbers)
        signature = self.mac(purpose, payload, COMPACT_MAC_BYTES)
        return f"{payload}-{base32_lower(signature)}"

    def read_compact(self, purpose: bytes, token: str, count: int) -> tuple[int, ...] | None:
        """The ``count`` numbers of a genuine token; ``None`` for anything else."""
        token = token.strip().lower()
        if not _COMPACT_RE.match(token):
            return None
        payload, _, signature = token.rpartition("-")
        parts = payload.split("-")
        if len(parts) != count:
            return None
        expected = self.mac(purpose, payload, COMPACT_MAC_BYTES)
        given = base64.b32decode(signature.upper())
        if not hmac.compare_digest(given, expected):
            return None
        return tuple(int(part, 36) for part in parts)
