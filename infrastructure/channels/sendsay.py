"""Sendsay channel: every message is one personal ``issue.send`` through ``SendsayClient``.

The request (Sendsay API, action ``issue.send``)::

    {"action": "issue.send", "group": "personal", "email": "<recipient>", "sendwhen": "now",
     "letter": {"subject": …, "from.email": …, "from.name": …,
                "message": {"html": …, "text": …}}}

Confirmed (public client code calling the real API: ``group``/``personal``, ``email``,
``sendwhen``/``now``, ``letter.subject``, ``letter.from.email``, ``letter.from.name``,
``letter.message.html``; REDIRECT and ``errors[].id`` are handled by ``SendsayClient``).
Assumed, not confirmed from Sendsay's docs:

* ``letter.message.text`` as the plain-text alternative;
* that an accepted personal send answers ``{"track.id": …}`` (the design's "long actions
  return track.id"); ``issue.id`` is taken when there is no track id. We do not poll
  ``track.get``: acceptance is "delivered", as an SMTP relay's 250 is;
* the error ids that mean "this address cannot get mail" (see ``is_refusal``);
* that without ``from.email`` Sendsay uses the account's default sender (``sender=""``).

Outcomes: accepted → delivered; ``SendsayAuthError`` → failed (our key or account is wrong,
never the recipient's fault, so never refused); ``SendsayTransientError`` → retry with its
``retry_after`` — except a timeout or a broken connection after the request left, which is
``failed`` "uncertain" (Sendsay has no idempotency key: a second send may be a duplicate);
an address refusal → refused; any other ``SendsayError`` → failed with its id.

Big runs do not come here: they go out as one mass send (``sendsay_mass.py``,
``domain/usecases/bulk_send.py``); small runs and test sends use this personal send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import httpx

from domain.delivery import Message, Outcome, RunContent, SendResult
from infrastructure.channels.fanout import send_each
from infrastructure.rendering import html_to_text, telegram_html_to_email_html
from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError

UNCERTAIN = "uncertain: timed out after sending"
LOST = "uncertain: connection lost after sending"
# httpx raises these before a byte of the request left: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Assumed error ids (not confirmed in Sendsay's public docs): an id whose subject is the
# address or the member, with a word saying it is unusable, is about the recipient.
# Anything naming the account, the sender, the letter or auth is ours to fix → failed.
_ADDRESS_SUBJECTS = ("email", "member", "address", "recipient", "addr")
_REFUSAL_WORDS = (
    "invalid",
    "bad",
    "wrong",
    "syntax",
    "malformed",
    "unsub",
    "stoplist",
    "stop_list",
    "stop.list",
    "block",
    "deny",
    "denied",
    "forbidden",
    "bounce",
    "suppress",
    "locked",
)


class SendsayChannel:
    """Sends through ``client`` (owned by the channel: ``close`` closes it).

    ``sender`` is ``"Name <addr@example.com>"`` or a bare address; it must be a sender
    address confirmed in the Sendsay account. ``concurrency`` bounds requests in flight.
    """

    def __init__(self, client: SendsayClient, *, sender: str, concurrency: int = 8) -> None:
        self._client = client
        self._from_name, self._from_email = parseaddr(sender)
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        return await send_each(
            self._slots, self._concurrency, messages, lambda m: self._send_one(content, m)
        )

    async def close(self) -> None:
        await self._client.aclose()

    def letter(self, content: RunContent, message: Message) -> dict[str, Any]:
        subject = message.subject or content.subject or content.mailing_name
        return letter_of(subject, message.body, self._from_name, self._from_email)

    async def _send_one(self, content: RunContent, message: Message) -> SendResult:
        delivery_id = message.outbound.delivery_id
        try:
            answer = await self._client.request(
                "issue.send",
                group="personal",
                email=message.outbound.value,
                sendwhen="now",
                letter=self.letter(content, message),
            )
        except SendsayError as exc:
            return classify(delivery_id, exc)
        except Exception as exc:  # one recipient never fails the batch
            return SendResult(delivery_id, Outcome.failed, f"{type(exc).__name__}: {exc}")
        return SendResult(delivery_id, Outcome.delivered, provider_id=provider_id(answer))


def letter_of(subject: str, body: str, from_name: str, from_email: str) -> dict[str, Any]:
    """A Sendsay ``letter`` from a subject and a Telegram-HTML body."""
    letter: dict[str, Any] = {
        "subject": subject,
        "message": {
            "html": telegram_html_to_email_html(body),
            "text": html_to_text(body),  # assumed field name
        },
    }
    if from_email:
        letter["from.email"] = from_email
    if from_name:
        letter["from.name"] = from_name
    return letter


def sent_uncertain(exc: SendsayTransientError) -> str | None:
    """Why a transient error may still have reached Sendsay (a timeout or a connection lost
    after the request left), or None when the request surely never arrived or was refused."""
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError) and not isinstance(cause, _NOT_SENT):
        lost = UNCERTAIN if isinstance(cause, httpx.TimeoutException) else LOST
        return f"{lost} ({exc})"
    return None


def provider_id(answer: dict[str, Any]) -> str | None:
    for key in ("track.id", "issue.id", "id"):
        if answer.get(key) not in (None, ""):
            return str(answer[key])
    return None


def is_refusal(error_id: str) -> bool:
    """Whether ``error_id`` says the address itself cannot get mail (assumed ids, e.g.
    ``error/email/invalid``, ``error/member/unsubscribed``, ``error/email/stoplist``)."""
    parts = error_id.lower().split("/")
    if len(parts) < 3 or parts[0] != "error" or parts[1] not in _ADDRESS_SUBJECTS:
        return False
    rest = "/".join(parts[2:])
    return any(word in rest for word in _REFUSAL_WORDS)


def classify(delivery_id: int, exc: SendsayError) -> SendResult:
    error = str(exc)
    if isinstance(exc, SendsayAuthError):
        return SendResult(delivery_id, Outcome.failed, error)
    if isinstance(exc, SendsayTransientError):
        uncertain = sent_uncertain(exc)
        if uncertain is not None:  # it may have reached Sendsay: never send it a second time
            return SendResult(delivery_id, Outcome.failed, uncertain)
        return SendResult(delivery_id, Outcome.retry, error, retry_after=exc.retry_after)
    if is_refusal(exc.error_id):
        return SendResult(delivery_id, Outcome.refused, error)
    return SendResult(delivery_id, Outcome.failed, error)
