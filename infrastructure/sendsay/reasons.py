"""Why a Sendsay send did not go as planned, as reason strings the bot can translate.

A reason is ``<key>`` or ``<key>: <detail>``: the key is a message id of the bot's locale
files (``handlers/locales/*/LC_MESSAGES/runs.po``), shown in the manager's language; the
detail (Sendsay's error id, a status code) stays as it is. They end up in a delivery's
``last_error`` and a run's ``problem``.
"""

from __future__ import annotations

from infrastructure.sendsay.client import TRACK_CANCELLED, TRACK_ERROR, TRACK_NOT_MODERATED
from infrastructure.sendsay.errors import SendsayAuthError, SendsayError, SendsayTransientError

AUTH = "sendsay-reason-auth"
KEY_EXPIRED = "sendsay-reason-key-expired"
SENDER = "sendsay-reason-sender"
PROSCRIPT = "sendsay-reason-proscript"
REDIRECTS = "sendsay-reason-redirects"
UNAVAILABLE = "sendsay-reason-unavailable"
UNCERTAIN = "sendsay-reason-uncertain"
REFUSED = "sendsay-reason-error"
NO_ISSUE = "sendsay-reason-no-issue"
NOT_DELIVERED = "sendsay-reason-not-delivered"
UNKNOWN_RESULT = "sendsay-reason-result"
TRACK_ENDS = {
    TRACK_ERROR: "sendsay-reason-track-error",
    TRACK_CANCELLED: "sendsay-reason-track-cancelled",
    TRACK_NOT_MODERATED: "sendsay-reason-moderation",
}
# Per-issue exclusion counters (SENDSAY.md) and whether their addresses are refused for
# good (and suppressed here too) or merely failed this time.
EXCLUSIONS = {
    "issue.stoplist": ("sendsay-reason-stoplist", True),
    "issue.lockunsub": ("sendsay-reason-unsubscribed", True),
    "issue.hardbounce": ("sendsay-reason-hardbounce", True),
    "issue.wrongline": ("sendsay-reason-wrongline", True),
    "issue.lockconfirm": ("sendsay-reason-unconfirmed", False),
    "issue.double": ("sendsay-reason-duplicate", False),
}


def reason(key: str, detail: object = None) -> str:
    return key if detail in (None, "") else f"{key}: {detail}"


def reason_of(exc: SendsayError) -> str:
    """The reason for an error that ends a send (auth, sender, a refusal, or a transient
    error that kept coming back)."""
    if isinstance(exc, SendsayAuthError):
        return reason(KEY_EXPIRED if exc.expired else AUTH, exc.error_id)
    if exc.about_sender:
        return reason(SENDER, exc.error_id)
    if exc.about_redirects:
        return reason(REDIRECTS, exc.error_id)
    if isinstance(exc, SendsayTransientError):
        return reason(UNAVAILABLE, _described(exc))
    return reason(REFUSED, _described(exc))


def _described(exc: SendsayError) -> str:
    action = f"{exc.action}: " if exc.action else ""
    explain = f" ({exc.explain})" if exc.explain not in (None, "") else ""
    return f"{action}{exc.error_id}{explain}"
