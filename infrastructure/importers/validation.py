"""Recognising one address: an email (validated, normalised) or a Telegram chat id.

Emails are checked for syntax only (``check_deliverability=False``): there is no DNS for
the outside world here, and a bulk import must never do a lookup per row. The stored form
is email-validator's ``normalized`` address (domain lowercased, IDN in Unicode form), and
then lowercased as a whole: mailbox names are case-insensitive at every provider that
matters, and ``Ivan@x.ru`` beside ``ivan@x.ru`` would get every mailing twice.

The common case, a plain ASCII address, takes a pre-compiled fast path; an
internationalised domain (``почта.рф``) is validated by email-validator once per domain,
not once per row; anything else (quoting, display names, Unicode local parts) goes to
email-validator whole. The results are identical to ``reference_normalize_email``'s:
``tests/unit/importers/test_validation.py`` checks it on a sample.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import EMAIL_MAX_LENGTH
from email_validator.syntax import validate_email_domain_name

from domain.errors import InvalidInput
from domain.imports import (
    INVALID_ADDRESS,
    INVALID_EMAIL,
    INVALID_TELEGRAM_ID,
    NO_ADDRESS,
    TELEGRAM_USERNAME,
)
from domain.recipients import AddressKind

_ATEXT = r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}+(?<!-)"  # no hyphen at either end, at most 63
# email-validator refuses special-use domains and wants a TLD that ends with a letter.
# Possessive quantifiers keep the regex from backtracking: it runs once per row.
_SPECIAL_USE = "arpa|invalid|local|localhost|onion|test"
_FAST_EMAIL = re.compile(
    rf"{_ATEXT}++(?:\.{_ATEXT}++)*+@(?:{_LABEL}\.)++(?!(?i:{_SPECIAL_USE})\Z){_LABEL}(?<=[A-Za-z])",
    re.ASCII,
)
# An ASCII local part and a domain with nothing email-validator would read as a display
# name, a quoted string or a domain literal.
_ASCII_LOCAL = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@([^\s@<>\"(),;:\[\]\\]+)", re.ASCII)

_TELEGRAM_ID = re.compile(r"-?\d{1,19}(?:\.0*)?", re.ASCII)  # "+7…" is a phone
_INT64_MAX = 2**63 - 1
_NUMBERISH = re.compile(r"[+(]?\d[\d\s().+-]*")
_USERNAME = re.compile(r"(?:@|(?:https?://)?t(?:elegram)?\.me/)\w{3,}", re.IGNORECASE)


def normalize_email(text: str) -> str | None:
    """The stored form of an address, or ``None`` when ``text`` (stripped) is not one."""
    if len(text) <= EMAIL_MAX_LENGTH and _FAST_EMAIL.fullmatch(text) and "--" not in text:
        return text.lower()  # ("ab--" labels have IDNA rules of their own: not here)
    match = _ASCII_LOCAL.fullmatch(text)
    if match is not None:
        local, domain = match.groups()
        forms = _domain_forms(domain)
        if forms is not None:
            normalized, longest = forms
            # email-validator's length limit, on the address as given, normalised and ASCII.
            fits = len(local) + 1 + longest <= EMAIL_MAX_LENGTH
            return f"{local.lower()}@{normalized}" if fits else None
    return reference_normalize_email(text)


@lru_cache(maxsize=4096)
def _domain_forms(domain: str) -> tuple[str, int] | None:
    """A domain as email-validator normalises it, and the longest (in UTF-8 bytes) of its
    given, normalised and ASCII forms; ``None`` when it is not valid."""
    try:
        forms = validate_email_domain_name(domain)
    except EmailNotValidError:
        return None
    spellings = (domain, forms["domain"], forms["ascii_domain"])
    return forms["domain"], max(len(spelling.encode()) for spelling in spellings)


def reference_normalize_email(text: str) -> str | None:
    """email-validator itself, lowercased: what the fast paths must agree with."""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def parse_telegram_id(text: str) -> str | None:
    """A chat id as text (``-100…`` for groups and channels), or ``None``.

    Spreadsheets sometimes save a number as ``123456789.0``; that is still the id.
    """
    if _TELEGRAM_ID.fullmatch(text) is None:
        return None
    value = int(text.partition(".")[0])
    if value == 0 or abs(value) > _INT64_MAX:
        return None
    return str(value)


def telegram_reason(text: str) -> str:
    """Why ``text`` is not a chat id: a ``@username`` deserves its own explanation."""
    return TELEGRAM_USERNAME if _USERNAME.fullmatch(text) else INVALID_TELEGRAM_ID


def classify(text: str) -> tuple[AddressKind, str] | str:
    """A value of unknown kind (a one-column file): the address, or a reason key."""
    if not text:
        return NO_ADDRESS
    if "@" in text[1:] and not text.startswith("@"):
        email = normalize_email(text)
        return (AddressKind.email, email) if email is not None else INVALID_EMAIL
    chat_id = parse_telegram_id(text)
    if chat_id is not None:
        return AddressKind.telegram, chat_id
    if _USERNAME.fullmatch(text):
        return TELEGRAM_USERNAME
    if _NUMBERISH.fullmatch(text):  # a phone number, an id with spaces
        return INVALID_TELEGRAM_ID
    return INVALID_ADDRESS


class TextAddressParser:
    """``domain.ports.recipients.AddressParser``: one address typed by a manager in the chat."""

    def parse(self, text: str) -> tuple[AddressKind, str]:
        result = classify(text.strip())
        if isinstance(result, str):
            raise InvalidInput(result, text=text)
        return result
