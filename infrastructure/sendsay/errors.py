"""Sendsay API errors, sorted by what the caller should do about them.

A Sendsay answer with problems carries ``"errors": [{"id": …, "explain": …}]`` or a single
``"error"`` object (confirmed: SENDSAY.md, the official clients). Ids seen in production:
``error/auth/failed`` (explain ``expired`` for an expired key), ``too_many_auth_parameters``,
``error/sender/unknown|onmoderation|prohibited``, ``group_id_not_exists``, ``member_exists``.
Nothing else is confirmed, so no decision here rests on any other id: "already exists" and
"not found" are never read from an id (the callers look things up instead), and only the
transient markers below are an assumption (see ``TRANSIENT_MARKERS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

AUTH_PREFIX = "error/auth/"
SENDER_PREFIX = "error/sender/"
TOO_MANY_REDIRECTS, BAD_REDIRECT = "sendsay/too_many_redirects", "sendsay/bad_redirect"
# Assumed (SENDSAY.md: rate-limit ids are unknown): an id naming one of these is temporary.
# HTTP 429 and 5xx are transient whatever the body says.
TRANSIENT_MARKERS = (
    "rate_limit",
    "ratelimit",
    "too_many_requests",
    "overload",
    "temporar",
)


class SendsayError(Exception):
    """A request Sendsay refused: ``error_id`` (e.g. ``error/sender/unknown``) and why."""

    def __init__(self, error_id: str, explain: Any = None, *, action: str | None = None) -> None:
        self.error_id = error_id
        self.explain = explain
        self.action = action
        detail = f": {explain}" if explain not in (None, "") else ""
        super().__init__(f"{action or 'sendsay'}: {error_id}{detail}")

    @property
    def about_redirects(self) -> bool:
        """The API kept redirecting (or to somewhere unsafe): it never really answered."""
        return self.error_id in (TOO_MANY_REDIRECTS, BAD_REDIRECT)

    @property
    def about_sender(self) -> bool:
        """The letter's sender is not usable (unknown, on moderation, prohibited)."""
        return self.error_id.startswith(SENDER_PREFIX)


class SendsayAuthError(SendsayError):
    """Wrong account or API key, an expired key, or both a key and a session sent."""

    @property
    def expired(self) -> bool:
        return str(self.explain).strip().lower() == "expired"


class SendsayTransientError(SendsayError):
    """Rate limit, overload, 5xx, timeout, a broken connection or a page that is not the API's
    JSON (a proxy's outage page): try again later."""

    def __init__(
        self,
        error_id: str,
        explain: Any = None,
        *,
        action: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(error_id, explain, action=action)
        self.retry_after = retry_after


def error_from_answer(
    errors: Sequence[Any], *, action: str, retry_after: float | None = None
) -> SendsayError:
    """The exception for the first error of an answer, by kind."""
    first: Mapping[str, Any] = {}
    if errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {"id": str(errors[0])}
    error_id = str(first.get("id", "error/unknown"))
    explain = first.get("explain")
    if error_id.startswith(AUTH_PREFIX) or error_id == "too_many_auth_parameters":
        return SendsayAuthError(error_id, explain, action=action)
    if any(marker in error_id.lower() for marker in TRANSIENT_MARKERS):
        return SendsayTransientError(error_id, explain, action=action, retry_after=retry_after)
    return SendsayError(error_id, explain, action=action)
