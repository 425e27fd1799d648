"""What a message in the bounce mailbox is: a hard or soft bounce, a complaint, or not a
bounce at all, and which delivery it is about.

- RFC 5965 (ARF) ``message/feedback-report``: a complaint (a feedback loop's report that
  the recipient pressed "spam"), unless its Feedback-Type says otherwise.
- RFC 3464 ``message/delivery-status``: per recipient, ``Action`` (failed or delayed) and
  ``Status`` (an RFC 3463 enhanced code) decide (``domain.bounces.status_kind``).
- Anything else goes through Mailman's detectors (``flufl.bounce``), which also know the
  non-standard formats (Exim's, old Exchange's, qmail's…); the status code, when there is
  one, comes from the diagnostic text.
- An RFC 3834 auto-reply (out of office) that no detector takes is not a bounce.

The delivery comes from the VERP address the bounce was sent to, or from the returned
headers (``Return-Path``) of the original letter, found anywhere in the message: every
such token is signed, so a forged one names nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email import message_from_bytes
from email.errors import (
    MessageDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
)
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr

from flufl.bounce import all_failures

from domain.bounces import BounceKind, BounceReport, Verp, find_status, status_kind

log = logging.getLogger(__name__)
# flufl.bounce logs a line per detector per message at INFO: far too chatty for a bot.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)
REASON_LIMIT = 300
_BROKEN = (NoBoundaryInMultipartDefect, MultipartInvariantViolationDefect)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?reply|out of (the )?office|автоответ|автоматический ответ|"
    r"отсутств|vacation)",
    re.IGNORECASE,
)
_NOT_COMPLAINT = {"not-spam"}


class BounceClassifier:
    def __init__(self, verp: Verp) -> None:
        self._verp = verp

    def classify(self, raw: bytes) -> BounceReport:
        key = hashlib.sha256(raw).hexdigest()
        try:
            message = message_from_bytes(raw)
        except Exception as exc:  # the parser is lenient; whatever still breaks it
            log.warning("Bounce mailbox: unreadable message %s: %s", key[:12], exc)
            return BounceReport(key, BounceKind.malformed, reason=str(exc)[:REASON_LIMIT])
        if not message.keys() or _broken(message):
            return BounceReport(key, BounceKind.malformed, reason="not a MIME message")
        found = _feedback(message) or _dsn(message) or _detected(message)
        if found is None:
            return BounceReport(key, BounceKind.not_bounce, reason=_subject(message))
        kind, status, reason, recipient = found
        delivery_id, _ = self._verp.find(_texts(raw, message))
        if delivery_id is None:
            return BounceReport(key, BounceKind.unknown, None, status, reason, recipient)
        return BounceReport(key, kind, delivery_id, status, reason, recipient)


Found = tuple[BounceKind, str | None, str, str | None]


def _feedback(message: Message) -> Found | None:
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _fields(part)
        feedback_type = fields.get("feedback-type", "abuse").strip().lower()
        if feedback_type in _NOT_COMPLAINT:
            return None
        recipient = _address(fields.get("original-rcpt-to", ""))
        reason = f"complaint ({feedback_type})"
        return BounceKind.complaint, None, reason, recipient
    return None


def _dsn(message: Message) -> Found | None:
    """The first failed (else delayed) recipient of RFC 3464 delivery-status parts."""
    delayed: Found | None = None
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part):
            action = block.get("action", "").strip().lower()
            if not action.startswith(("failed", "delayed", "error")):
                continue
            diagnostic = " ".join(block.get("diagnostic-code", "").split())
            status = find_status(block.get("status", "")) or find_status(diagnostic)
            recipient = _address(
                block.get("original-recipient", "") or block.get("final-recipient", "")
            )
            reason = _short(diagnostic.partition(";")[2] or diagnostic or action)
            if action.startswith("delayed"):
                delayed = delayed or (BounceKind.soft, status, reason, recipient)
                continue
            return status_kind(status, diagnostic=diagnostic), status, reason, recipient
    return delayed


def _detected(message: Message) -> Found | None:
    """Mailman's heuristic detectors, for bounces that are not RFC 3464 reports."""
    if _auto_reply(message):
        return None
    try:
        temporary, permanent = all_failures(message)
    except Exception as exc:  # a detector tripping over an odd message is not our crash
        log.info("Bounce detectors failed on a message: %s", exc)
        return None
    if not temporary and not permanent:
        return None
    recipient = sorted(permanent or temporary)[0].decode("ascii", "replace")
    text = _body_text(message)
    status = find_status(text)
    reason = _diagnostic(text, recipient)
    kind = status_kind(status, permanent=bool(permanent), diagnostic=reason)
    return kind, status, reason, recipient


def _auto_reply(message: Message) -> bool:
    """RFC 3834 auto-replies and the usual vacation markers (no DSN part: checked after)."""
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if (message.get("Precedence") or "").strip().lower() == "auto_reply":
        return True
    submitted = (message.get("Auto-Submitted") or "").strip().lower()
    return submitted.startswith("auto-replied") and bool(
        _AUTO_REPLY_SUBJECT.match(_subject(message))
    )


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    return []


def _fields(part: Message) -> dict[str, str]:
    fields: dict[str, str] = {}
    for block in _blocks(part):
        for name, value in block.items():
            fields.setdefault(name.lower(), str(value))
    if not fields and isinstance(part.get_payload(), str):  # parsed as text by some parsers
        for line in str(part.get_payload()).splitlines():
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
    return fields


def _texts(raw: bytes, message: Message) -> list[str]:
    """Where a VERP token may be: the headers it was delivered under first, then every
    part (returned headers, inline copies), decoded."""
    texts = [
        str(message.get(name, ""))
        for name in ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
    ]
    texts.append(raw.decode("utf-8", "replace"))
    texts.extend(_decoded_parts(message))
    return texts


def _decoded_parts(message: Message) -> list[str]:
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return found


def _body_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _diagnostic(text: str, recipient: str) -> str:
    """The line that speaks of the failure (with a status code, or after the address)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for line in lines:
        if find_status(line) or re.match(r"^\d{3}[ -]", line):
            return _short(line)
    for i, line in enumerate(lines):
        if recipient and recipient.lower() in line.lower():
            rest = " ".join(part for part in lines[i + 1 : i + 3] if part)
            return _short(rest or line)
    return "bounce"


def _broken(message: Message) -> bool:
    defects: list[MessageDefect] = list(message.defects)
    return any(isinstance(defect, _BROKEN) for defect in defects)


def _subject(message: Message) -> str:
    try:
        text = str(make_header(decode_header(str(message.get("Subject", "")))))
    except (LookupError, ValueError, UnicodeDecodeError):  # a broken encoded word
        text = str(message.get("Subject", ""))
    return " ".join(text.split())[:REASON_LIMIT]


def _address(value: str) -> str | None:
    text = value.partition(";")[2] or value
    address = parseaddr(text.strip())[1] or text.strip().strip("<>")
    return address or None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"
