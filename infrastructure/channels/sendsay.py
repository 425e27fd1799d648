"""Sendsay channel: every message is one personal ``issue.send`` through ``SendsayClient``.

The request (confirmed: sendsay-docs how-to-send-campaign-with-api.md, SENDSAY.md)::

    {"action": "issue.send", "group": "personal", "email": "<recipient>", "sendwhen": "now",
     "relink": 1, "letter": {"subject": …, "from.email": …, "from.name": …,
                            "message": {"html": …, "text": …}}}

The account must have transactional API sends enabled by Sendsay's support, and the sender
(``SENDSAY_FROM``, else ``SMTP_FROM``; required at start-up) must be confirmed in it: there
is no default sender, and an unconfirmed one is refused with ``error/sender/*``.

Assumed (SENDSAY.md "Unknown"): the answer's fields (``track.id`` is kept as the provider
id when there is one; acceptance is "delivered", as an SMTP relay's 250 is, and the track
is not polled); which error ids mean "this address cannot get mail" (``is_refusal``);
whether Sendsay escapes the subject and the text part. The letter is rendered by our own
renderer, so ``[%``/``%]`` in it can only come from a recipient's data: they are defused.

Outcomes: accepted → delivered; auth or sender errors → failed with a reason the manager
can act on (never refused: not the recipient's fault); ``SendsayTransientError`` → retry
with its ``retry_after``, except a timeout or a connection lost after the request left,
which is failed "uncertain" (Sendsay has no idempotency key); an address refusal →
refused; any other error → failed with its id. A manager's text containing ``[%`` or
``%]`` is refused (the preview refuses it before launch).

Big runs do not come here: they go out as one mass send (``sendsay_mass.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import httpx

from domain.delivery import Message, Outcome, RunContent, SendResult
from infrastructure.channels.fanout import send_each
from infrastructure.sendsay import reasons
from infrastructure.sendsay.client import SendsayClient
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError
from infrastructure.sendsay.letter import has_code, rendered_letter

UNCERTAIN = "timed out after sending"
LOST = "connection lost after sending"
# httpx raises these before a byte of the request left: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# Assumed error ids (SENDSAY.md: refusal ids are unknown): an id whose subject is the
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

    ``sender`` is ``"Name <addr@example.com>"`` or a bare address confirmed in the Sendsay
    account; ``relink`` turns Sendsay's click tracking on; ``concurrency`` bounds requests
    in flight.
    """

    def __init__(
        self,
        client: SendsayClient,
        *,
        sender: str,
        relink: bool = True,
        concurrency: int = 8,
    ) -> None:
        self._client = client
        self._from_name, self._from_email = parseaddr(sender)
        self._relink = relink
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)

    async def send(self, content: RunContent, messages: Sequence[Message]) -> list[SendResult]:
        if has_code(content.body, content.subject or ""):
            return [
                SendResult(m.outbound.delivery_id, Outcome.failed, reasons.PROSCRIPT)
                for m in messages
            ]
        return await send_each(
            self._slots, self._concurrency, messages, lambda m: self._send_one(content, m)
        )

    async def close(self) -> None:
        await self._client.aclose()

    def letter(self, content: RunContent, message: Message) -> dict[str, Any]:
        subject = message.subject or content.subject or content.mailing_name
        return rendered_letter(subject, message.body, self._from_name, self._from_email)

    async def _send_one(self, content: RunContent, message: Message) -> SendResult:
        delivery_id = message.outbound.delivery_id
        try:
            answer = await self._client.request(
                "issue.send",
                group="personal",
                email=message.outbound.value,
                sendwhen="now",
                relink=1 if self._relink else 0,
                letter=self.letter(content, message),
            )
        except SendsayError as exc:
            return classify(delivery_id, exc)
        except Exception as exc:  # one recipient never fails the batch
            return SendResult(delivery_id, Outcome.failed, f"{type(exc).__name__}: {exc}")
        return SendResult(delivery_id, Outcome.delivered, provider_id=provider_id(answer))


def sent_uncertain(exc: SendsayTransientError) -> str | None:
    """Why a transient error may still have reached Sendsay (a timeout or a connection lost
    after the request left), or None when the request surely never arrived or was refused."""
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError) and not isinstance(cause, _NOT_SENT):
        lost = UNCERTAIN if isinstance(cause, httpx.TimeoutException) else LOST
        return reasons.reason(reasons.UNCERTAIN, f"{lost} ({exc})")
    return None


def provider_id(answer: dict[str, Any]) -> str | None:
    for key in ("track.id", "issue.id", "request.id"):
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
    if isinstance(exc, SendsayTransientError):
        uncertain = sent_uncertain(exc)
        if uncertain is not None:  # it may have reached Sendsay: never send it a second time
            return SendResult(delivery_id, Outcome.failed, uncertain)
        error = reasons.reason_of(exc)  # kept if the retries run out
        return SendResult(delivery_id, Outcome.retry, error, retry_after=exc.retry_after)
    if not isinstance(exc, SendsayAuthError) and not exc.about_sender and is_refusal(exc.error_id):
        return SendResult(delivery_id, Outcome.refused, reasons.reason_of(exc))
    return SendResult(delivery_id, Outcome.failed, reasons.reason_of(exc))
